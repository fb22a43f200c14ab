// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/cache_health.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs {
namespace {

// Why `file` no longer is the file its name in CACHE names; nullopt while it is.
std::optional<std::string> FindFileFault(const std::string& cache_dir, const CacheFile& file) {
  struct stat open;
  if (::fstat(file.fd, &open) != 0) {
    return "the cache " + file.what + " cannot be examined (" + std::strerror(errno) + ")";
  }
  struct stat named;
  if (::stat(file.path.c_str(), &named) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return "the cache directory '" + cache_dir + "' or its " + file.what + " was deleted";
    }
    return "the cache " + file.what + " '" + file.path + "' cannot be examined (" +
           std::strerror(errno) + ")";
  }
  if (open.st_nlink == 0 || named.st_dev != open.st_dev || named.st_ino != open.st_ino) {
    return "the cache " + file.what + " '" + file.path + "' was deleted or replaced";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindCacheDirectoryFault(const std::string& cache_dir,
                                                   const std::vector<CacheFile>& files) {
  for (const CacheFile& file : files) {
    if (auto fault = FindFileFault(cache_dir, file)) return fault;
  }
  struct statvfs fs;
  if (!files.empty() && ::fstatvfs(files.front().fd, &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) {
    return "the file system of the cache directory '" + cache_dir + "' is read-only";
  }
  return std::nullopt;
}

}  // namespace wtcachefs
