// SPDX-License-Identifier: Apache-2.0
// MountTable: what is mounted where, read from a mountinfo file (proc(5)):
// /proc/self/mountinfo for this process's mount namespace, /proc/PID/mountinfo
// for another process's.
//
// Thread safety: pure functions over the file system.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wtcachefs {

struct MountedFileSystem {
  std::string mount_point;  // unescaped, as a path
  std::string type;         // "tmpfs", "fuse.wtcachefs", ...
  std::string source;       // "/dev/sda1", an origin path, "none", ...
};

// The mount on top at `path` (an absolute canonical path), or nullopt when
// `path` is not a mount point in `mountinfo` or the file cannot be read.
std::optional<MountedFileSystem> FindMountAt(
    const std::string& path, const std::string& mountinfo = "/proc/self/mountinfo");

// The mountinfo file of process `pid` (its mount namespace), or this process's
// own when `pid` has none that can be read.
std::string MountinfoOf(pid_t pid);

// "tmpfs 'none'" or "fuse.wtcachefs '/srv/origin'": how a message names a mount.
std::string DescribeMount(const MountedFileSystem& mount);

}  // namespace wtcachefs
