// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/mount_table.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace wtcachefs {
namespace {

// mountinfo writes space, tab, newline and backslash as "\ooo" octal escapes.
std::string Unescape(const std::string& field) {
  std::string plain;
  for (size_t i = 0; i < field.size(); ++i) {
    const bool octal = field[i] == '\\' && i + 3 < field.size();
    if (octal && field[i + 1] >= '0' && field[i + 1] <= '3' && field[i + 2] >= '0' &&
        field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      plain += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                 (field[i + 3] - '0'));
      i += 3;
    } else {
      plain += field[i];
    }
  }
  return plain;
}

}  // namespace

std::optional<MountedFileSystem> FindMountAt(const std::string& path,
                                             const std::string& mountinfo) {
  std::ifstream table(mountinfo);
  std::optional<MountedFileSystem> found;
  // Fields: id, parent id, MAJOR:MINOR, root, mount point, mount options,
  // optional fields ending with "-", type, source, super options. The last
  // mount at a point is the one on top.
  for (std::string line; std::getline(table, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point, options;
    if (!(fields >> id >> parent >> device >> root >> point >> options)) continue;
    if (Unescape(point) != path) continue;
    std::string field;
    while (fields >> field && field != "-") {
    }
    MountedFileSystem mount;
    mount.mount_point = path;
    if (!(fields >> mount.type >> mount.source)) continue;
    mount.type = Unescape(mount.type);
    mount.source = Unescape(mount.source);
    found = std::move(mount);
  }
  return found;
}

std::string MountinfoOf(pid_t pid) {
  const std::string own = "/proc/" + std::to_string(pid) + "/mountinfo";
  return pid > 0 && ::access(own.c_str(), R_OK) == 0 ? own : "/proc/self/mountinfo";
}

std::string DescribeMount(const MountedFileSystem& mount) {
  return mount.type + " '" + mount.source + "'";
}

}  // namespace wtcachefs
