// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/origin_stat.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstddef>  // linux/fs.h uses size_t
#include <linux/fs.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace wtcachefs {
namespace {

timespec TimeOf(const struct statx_timestamp& t) {
  return timespec{static_cast<time_t>(t.tv_sec), static_cast<long>(t.tv_nsec)};
}

}  // namespace

int StatOrigin(int fd, struct stat* st) {
  struct statx sx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx) != 0) {
    if (errno != ENOSYS && errno != EINVAL) return errno;
    if (::fstat(fd, st) != 0) return errno;  // a kernel without statx
  } else {
    std::memset(st, 0, sizeof(*st));
    st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    st->st_ino = sx.stx_ino;
    st->st_mode = sx.stx_mode;
    st->st_nlink = sx.stx_nlink;
    st->st_uid = sx.stx_uid;
    st->st_gid = sx.stx_gid;
    st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
    st->st_size = static_cast<off_t>(sx.stx_size);
    st->st_blksize = static_cast<blksize_t>(sx.stx_blksize);
    st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
    st->st_atim = TimeOf(sx.stx_atime);
    st->st_mtim = TimeOf(sx.stx_mtime);
    st->st_ctim = TimeOf(sx.stx_ctime);
  }
  if (!S_ISBLK(st->st_mode)) return 0;
  uint64_t bytes = 0;
  if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
    if (errno != EBADF) return errno;
    // An O_PATH descriptor takes no ioctl: ask through an open of the device.
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int device = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (device < 0) return errno;
    const int rc = ::ioctl(device, BLKGETSIZE64, &bytes);
    const int error = errno;
    ::close(device);
    if (rc != 0) return error;
  }
  st->st_size = static_cast<off_t>(bytes);
  st->st_blocks = static_cast<blkcnt_t>(bytes / 512);
  return 0;
}

}  // namespace wtcachefs
