// SPDX-License-Identifier: Apache-2.0
// Refuses -o allow_other before mounting when fusermount3 would refuse it: a
// user other than root mounts through fusermount3, which allows allow_other
// only when /etc/fuse.conf holds the line user_allow_other. Said up front, the
// message names the option, the file and the line to add, instead of the
// kernel mount failing half way with fusermount3's words.
//
// Thread safety: pure function over the file system.
#pragma once

#include <sys/types.h>

#include <string>

#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

inline constexpr char kFuseConfPath[] = "/etc/fuse.conf";

// True when `fuse_conf` has a line that is user_allow_other, read as
// fusermount3 reads it ('#' starts a comment, blanks around are ignored).
bool FuseConfAllowsOther(const std::string& fuse_conf);

// OK unless `options` ask for allow_other or allow_root (which is allow_other
// to the kernel), the mount is made by an ordinary
// user (neither `uid` nor `euid` is 0: fusermount3 mounts it) and `fuse_conf`
// lacks user_allow_other; then EPERM with a message saying what to do.
Status CheckAllowOtherPermitted(const Options& options, uid_t uid, uid_t euid,
                                const std::string& fuse_conf = kFuseConfPath);

}  // namespace wtcachefs
