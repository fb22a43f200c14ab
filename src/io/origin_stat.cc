#include "wtcachefs/origin_stat.h"

#include <cstddef>  // linux/fs.h uses size_t
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

namespace wtcachefs {

int StatOrigin(int fd, struct stat* st) {
  if (::fstat(fd, st) != 0) return errno;
  if (!S_ISBLK(st->st_mode)) return 0;
  uint64_t bytes = 0;
  if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) return errno;
  st->st_size = static_cast<off_t>(bytes);
  st->st_blocks = static_cast<blkcnt_t>(bytes / 512);
  return 0;
}

}  // namespace wtcachefs
