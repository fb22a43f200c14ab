// SPDX-License-Identifier: Apache-2.0
#include "cli/allow_other_check.h"

#include <algorithm>
#include <cerrno>
#include <fstream>

namespace wtcachefs {

bool FuseConfAllowsOther(const std::string& fuse_conf) {
  std::ifstream conf(fuse_conf);
  for (std::string line; std::getline(conf, line);) {
    line = line.substr(0, line.find('#'));
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    const auto first = std::find_if_not(line.begin(), line.end(), blank);
    const auto last = std::find_if_not(line.rbegin(), line.rend(), blank).base();
    if (first < last && std::string(first, last) == "user_allow_other") return true;
  }
  return false;
}

Status CheckAllowOtherPermitted(const Options& options, uid_t uid, uid_t euid,
                                const std::string& fuse_conf) {
  // allow_root is allow_other to the kernel, narrowed by libfuse: fusermount3
  // asks the same line for it.
  const auto asked = std::find_if(
      options.kernel_options.begin(), options.kernel_options.end(),
      [](const std::string& option) { return option == "allow_other" || option == "allow_root"; });
  if (asked == options.kernel_options.end() || uid == 0 || euid == 0 ||
      FuseConfAllowsOther(fuse_conf)) {
    return Status::Ok();
  }
  const std::string& option = *asked;
  return Status::Error(EPERM, "option " + option + " is allowed to a user other than root only "
                              "when " + fuse_conf + " holds the line user_allow_other: add "
                              "that line to " + fuse_conf + " (as root), or mount without "
                              "-o " + option);
}

}  // namespace wtcachefs
