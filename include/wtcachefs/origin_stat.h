// StatOrigin: fstat(2) of an origin object as the cache and the view see it.
//
// A block device's inode reports size 0; its size is the device's (BLKGETSIZE64),
// and every byte of it counts as allocated. Everything else is fstat's answer.
// The engine fingerprints (DESIGN W6) and clips reads with this size, so a
// resized device is noticed like a truncated file.
#pragma once

#include <sys/stat.h>

namespace wtcachefs {

// 0, or an errno.
int StatOrigin(int fd, struct stat* st);

}  // namespace wtcachefs
