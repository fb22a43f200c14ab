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
  const bool asked = std::find(options.kernel_options.begin(), options.kernel_options.end(),
                               "allow_other") != options.kernel_options.end();
  if (!asked || uid == 0 || euid == 0 || FuseConfAllowsOther(fuse_conf)) return Status::Ok();
  return Status::Error(EPERM, "option allow_other is allowed to a user other than root only "
                              "when " + fuse_conf + " holds the line user_allow_other: add "
                              "that line to " + fuse_conf + " (as root), or mount without "
                              "-o allow_other");
}

}  // namespace wtcachefs
