// SPDX-License-Identifier: Apache-2.0
#include "engine/privilege_bits.h"

#include <sys/stat.h>

#include <cerrno>

namespace wtcachefs {

int DropPrivilegeBitsAfterDataChange(int fd, const ChangeCaller& caller, bool* dropped) {
  *dropped = false;
  const bool privileged = caller.uid == 0;
  if (privileged) return 0;  // the common case costs nothing
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno;
  if ((st.st_mode & (S_ISUID | S_ISGID)) == 0) return 0;
  // Group membership matters only for a setgid file that is not group-executable.
  const bool needs_groups = (st.st_mode & (S_ISGID | S_IXGRP)) == S_ISGID;
  const bool in_group = !needs_groups || (caller.in_group && caller.in_group(st.st_gid));
  const mode_t drop = PrivilegeBitsToDrop(st.st_mode, privileged, in_group);
  if (drop == 0) return 0;
  if (::fchmod(fd, st.st_mode & 07777 & ~drop) != 0) return errno;
  *dropped = true;
  return 0;
}

}  // namespace wtcachefs
