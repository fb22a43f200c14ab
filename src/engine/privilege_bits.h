// SPDX-License-Identifier: Apache-2.0
// Which of the setuid and setgid bits a change of a file's data removes, by the
// rule of Linux 6.x (fs/attr.c, setattr_should_drop_suidgid and
// setattr_should_drop_sgid, applied by file_remove_privs on write, truncate and
// fallocate by ext4, xfs and btrfs):
//  - nothing unless the file is a regular file and the caller lacks CAP_FSETID;
//  - setuid always;
//  - setgid when the file is group-executable, or when the caller is in neither
//    the file's group by its fsgid nor by a supplementary group.
// The daemon runs as root and so never loses the bits itself: the engine
// applies this rule for its callers (ChangeCaller) where the kernel does not
// (fallocate through FUSE, and every write and truncate once
// FUSE_HANDLE_KILLPRIV_V2 is negotiated).
//
// Thread safety: pure functions, and one that changes only the file it is given.
#pragma once

#include <sys/stat.h>

#include "wtcachefs/data_engine.h"

namespace wtcachefs {

// `mode` is the file's st_mode before the change. Returns the bits to clear.
constexpr mode_t PrivilegeBitsToDrop(mode_t mode, bool caller_has_fsetid,
                                     bool caller_in_file_group) {
  if (!S_ISREG(mode) || caller_has_fsetid) return 0;
  mode_t drop = mode & S_ISUID;
  if ((mode & S_ISGID) && ((mode & S_IXGRP) || !caller_in_file_group)) drop |= S_ISGID;
  return drop;
}

// After `caller` changed the data of the origin file at `fd` (opened for
// data IO), clears the bits it must lose. Returns 0 or an errno; `*dropped`
// says whether any bit was cleared.
int DropPrivilegeBitsAfterDataChange(int fd, const ChangeCaller& caller, bool* dropped);

}  // namespace wtcachefs
