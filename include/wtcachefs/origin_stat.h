// SPDX-License-Identifier: Apache-2.0
// StatOrigin: a fresh stat of an origin object as the cache and the view see it.
//
// Fresh: statx(2) with AT_STATX_FORCE_SYNC, so an origin that caches attributes
// (NFS, a FUSE origin such as sshfs) asks its server instead of answering from
// its attribute cache; a local file system answers as fstat(2) does. The
// fingerprints of DESIGN W6 are only as good as this: a cached answer taken
// after our own write would make that write look external later, and one taken
// before it would hide an external change.
//
// A block device's inode reports size 0; its size is the device's (BLKGETSIZE64),
// and every byte of it counts as allocated. The engine fingerprints and clips
// reads with this size, so a resized device is noticed like a truncated file.
// `fd` may be an O_PATH descriptor (a block device is then opened for its size).
#pragma once

#include <sys/stat.h>

namespace wtcachefs {

// 0, or an errno.
int StatOrigin(int fd, struct stat* st);

}  // namespace wtcachefs
