// SPDX-License-Identifier: Apache-2.0
// IoBackend's origin calls that are not reads, writes or syncs: the system
// calls themselves, for every backend that does not override them.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "wtcachefs/io_backend.h"
#include "wtcachefs/origin_stat.h"

namespace wtcachefs {

int IoBackend::Truncate(int fd, off_t size) { return ::ftruncate(fd, size) == 0 ? 0 : errno; }

int IoBackend::Allocate(int fd, int mode, off_t offset, off_t length) {
  return ::fallocate(fd, mode, offset, length) == 0 ? 0 : errno;
}

int64_t IoBackend::CopyRange(int from_fd, off_t from, int to_fd, off_t to, size_t length,
                             unsigned flags) {
  loff_t in = from;
  loff_t out = to;
  const ssize_t n = ::copy_file_range(from_fd, &in, to_fd, &out, length, flags);
  return n >= 0 ? n : -errno;
}

int IoBackend::Stat(int fd, struct stat* st) { return StatOrigin(fd, st); }

}  // namespace wtcachefs
