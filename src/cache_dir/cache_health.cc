// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/cache_health.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs {

std::optional<std::string> FindCacheDirectoryFault(const std::string& cache_dir,
                                                   const std::string& slot_path, int slot_fd) {
  struct stat open_slots;
  if (::fstat(slot_fd, &open_slots) != 0) {
    return "the cache slot file cannot be examined (" + std::string(std::strerror(errno)) + ")";
  }
  struct stat named_slots;
  if (::stat(slot_path.c_str(), &named_slots) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return "the cache directory '" + cache_dir + "' or its slot file was deleted";
    }
    return "the cache slot file '" + slot_path + "' cannot be examined (" +
           std::strerror(errno) + ")";
  }
  if (open_slots.st_nlink == 0 || named_slots.st_dev != open_slots.st_dev ||
      named_slots.st_ino != open_slots.st_ino) {
    return "the cache slot file '" + slot_path + "' was deleted or replaced";
  }
  struct statvfs fs;
  if (::fstatvfs(slot_fd, &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) {
    return "the file system of the cache directory '" + cache_dir + "' is read-only";
  }
  return std::nullopt;
}

}  // namespace wtcachefs
