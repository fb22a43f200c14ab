// SPDX-License-Identifier: Apache-2.0
#include "engine/preallocated_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs {

Result<UniqueFd> OpenPreallocated(const std::string& path, off_t size, const std::string& what,
                                  CacheSpace space) {
  struct stat before;
  const bool existed = ::lstat(path.c_str(), &before) == 0;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status::FromErrno("cannot open " + what + " '" + path + "'");
  // An existing file keeps its mode if someone loosened it: tighten it again.
  if (::fchmod(fd.get(), 0600) != 0) {
    return Status::FromErrno("cannot set mode 0600 on '" + path + "'");
  }
  if (space == CacheSpace::kElastic) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot stat " + what);
    if (st.st_size < size && ::ftruncate(fd.get(), size) != 0) {
      return Status::FromErrno("cannot size " + what + " '" + path + "'");
    }
    return fd;
  }
  if (::fallocate(fd.get(), 0, 0, size) == 0) return fd;
  const int error = errno;
  if (error == EOPNOTSUPP && ::ftruncate(fd.get(), size) == 0) return fd;
  // A failed fallocate may have allocated part of the range: give it back.
  if (!existed) {
    ::unlink(path.c_str());
  } else if (before.st_size < size) {
    (void)::ftruncate(fd.get(), before.st_size);
  }
  if (error == ENOSPC) {
    return Status::Error(error, "not enough space for " + what + " '" + path + "' of " +
                                    std::to_string(size) + " bytes: choose a smaller --cache-size");
  }
  return Status::Error(error, "cannot allocate " + what + " '" + path + "': " + std::strerror(error));
}

Status TrimTo(int fd, off_t size, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("cannot stat " + what);
  if (st.st_size > size && ::ftruncate(fd, size) != 0) {
    return Status::FromErrno("cannot shrink " + what);
  }
  return Status::Ok();
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

Status PunchUnits(int fd, std::span<const uint32_t> units, uint64_t unit_size,
                  const std::string& what) {
  size_t i = 0;
  while (i < units.size()) {
    size_t end = i + 1;
    while (end < units.size() && units[end] == units[end - 1] + 1) ++end;
    const auto offset = static_cast<off_t>(units[i] * unit_size);
    const auto length = static_cast<off_t>((end - i) * unit_size);
    if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) != 0) {
      return Status::FromErrno("cannot give back the room of " + what);
    }
    i = end;
  }
  return Status::Ok();
}

}  // namespace wtcachefs
