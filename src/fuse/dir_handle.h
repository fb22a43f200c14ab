// SPDX-License-Identifier: Apache-2.0
// DirHandle: one open directory of origin. The stream position is the kernel's
// `off`: the d_off of the last entry returned, so a listing resumes where the
// previous reply ended, and seekdir() handles rewinds. Entries' inode numbers
// are shown as numbers of the directory's own device, as the kernel's readdir
// does (an entry that is a mount point shows the covered directory's number).
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <mutex>

#include "fuse/view_inode_numbers.h"

namespace wtcachefs {

struct DirHandle {
  DirHandle(DIR* d, ViewDevice dir_device) : device(dir_device), stream(d) {}
  ~DirHandle() { ::closedir(stream); }
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;

  const ViewDevice device;  // the directory's device
  std::mutex mutex;
  DIR* stream;         // GUARDED_BY(mutex)
  off_t position = 0;  // GUARDED_BY(mutex)
};

}  // namespace wtcachefs
