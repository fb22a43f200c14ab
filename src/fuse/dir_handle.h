// SPDX-License-Identifier: Apache-2.0
// DirHandle: one open directory of origin. The stream position is the kernel's
// `off`: the d_off of the last entry returned, so a listing resumes where the
// previous reply ended, and seekdir() handles rewinds.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <mutex>

namespace wtcachefs {

struct DirHandle {
  explicit DirHandle(DIR* d) : stream(d) {}
  ~DirHandle() { ::closedir(stream); }
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;

  std::mutex mutex;
  DIR* stream;         // GUARDED_BY(mutex)
  off_t position = 0;  // GUARDED_BY(mutex)
};

}  // namespace wtcachefs
