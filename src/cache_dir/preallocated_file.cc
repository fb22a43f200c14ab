// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/preallocated_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "report/human_bytes.h"

namespace wtcachefs {

Result<UniqueFd> OpenPreallocated(const std::string& path, off_t size, const std::string& what,
                                  CacheSpace space) {
  const FileExtent before = FileExtent::Of(path);
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
  before.Restore(path);
  if (error == ENOSPC) {
    return Status::Error(error, "not enough space for " + what + " '" + path + "' of " +
                                    std::to_string(size) + " bytes: choose a smaller --cache-size");
  }
  return Status::Error(error,
                       "cannot allocate " + what + " '" + path + "': " + std::strerror(error));
}

Status CheckRoomToReserve(const std::string& cache_dir, uint64_t data_bytes, uint64_t bytes,
                          const std::vector<std::string>& paths) {
  uint64_t held = 0;
  for (const std::string& path : paths) held += AllocatedBytes(path);
  struct statvfs fs;
  if (::statvfs(cache_dir.c_str(), &fs) != 0) {
    return Status::FromErrno("cannot measure the file system of cache '" + cache_dir + "'");
  }
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (held >= bytes || bytes - held <= available) return Status::Ok();
  return Status::Error(
      ENOSPC, "cache size " + HumanBytes(data_bytes) + " (" + std::to_string(data_bytes) +
                  " bytes) needs " + HumanBytes(bytes - held) +
                  " more with its checksums and metadata, but the file system of cache '" + cache_dir +
                  "' has " + HumanBytes(available) + " (" + std::to_string(available) +
                  " bytes) free: choose a smaller --cache-size, free space there, or leave "
                  "--cache-size out for a cache that grows within the free space");
}

FileExtent FileExtent::Of(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return FileExtent{};
  return FileExtent{true, st.st_size};
}

void FileExtent::Restore(const std::string& path) const {
  if (!existed) {
    ::unlink(path.c_str());
  } else {
    (void)::truncate(path.c_str(), size);
  }
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
                  const std::string& what, size_t* punched) {
  size_t i = 0;
  *punched = 0;
  while (i < units.size()) {
    size_t end = i + 1;
    while (end < units.size() && units[end] == units[end - 1] + 1) ++end;
    const auto offset = static_cast<off_t>(units[i] * unit_size);
    const auto length = static_cast<off_t>((end - i) * unit_size);
    if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) != 0) {
      return Status::FromErrno("cannot give back the room of " + what);
    }
    i = end;
    *punched = i;
  }
  return Status::Ok();
}

}  // namespace wtcachefs
