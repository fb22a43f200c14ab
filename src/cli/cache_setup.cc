// SPDX-License-Identifier: Apache-2.0
#include "cli/cache_setup.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "cli/exit_codes.h"

namespace wtcachefs {

Result<CacheConfig> MakeCacheConfig(const Options& options) {
  CacheConfig config;
  config.cache_dir = options.cache;
  config.view = options.view;
  config.origin_path = options.origin;
  struct stat origin;
  if (::stat(options.origin.c_str(), &origin) != 0) {
    return Status::FromErrno("cannot stat origin '" + options.origin + "'");
  }
  // A cache belongs to one origin: a directory by its inode, an image by the
  // path it is named by (see CacheConfig).
  if (options.image_name.empty()) {
    config.origin_dev = origin.st_dev;
    config.origin_ino = origin.st_ino;
  } else {
    config.origin_path = options.image_path;
  }
  config.block_size = options.block_size;
  config.policy = options.policy;
  config.promote_after = options.promote_after;
  config.sequential_cutoff = options.sequential_cutoff;
  config.revalidate = std::chrono::milliseconds(
      static_cast<int64_t>(std::max(0.0, options.RevalidateSeconds()) * 1000));
  config.sweep_interval =
      std::chrono::milliseconds(static_cast<int64_t>(options.sweep_interval * 1000));
  config.write_allocate = options.write_allocate;
  config.miss_ratio_curve = options.miss_ratio_curve;
  config.serial_writethrough = options.serial_writethrough;
  config.reset = options.reset_cache;
  config.cache_bytes = options.cache_size;
  config.resize = options.cache_size != 0;
  // A size asked for is reserved; the default one grows within the free space
  // and gives it back when others need it (engine/space_guard.h).
  config.space = options.cache_size != 0 ? CacheSpace::kReserved : CacheSpace::kElastic;
  if (config.cache_bytes == 0) {
    struct statvfs fs;
    if (::statvfs(options.cache.c_str(), &fs) != 0) {
      return Status::FromErrno("cannot measure the filesystem of cache '" + options.cache + "'");
    }
    config.cache_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize / 10;
  }
  return config;
}

int ExitCodeForCacheError(const Status& status) {
  switch (status.error()) {
    case EBUSY:
    case EEXIST:
    case EINVAL:
    case EPROTO:
    case ENOSPC:
    case EFBIG:
    case EACCES:
    case EROFS:
      return kExitBadPath;
    default:
      return kExitRuntime;
  }
}

}  // namespace wtcachefs
