// SPDX-License-Identifier: Apache-2.0
// ImageFs: the view of an image origin (DESIGN §1, image mode). ORIGIN is one
// regular file (a raw or qcow2 VM image, any format) or a block device; VIEW is
// a directory holding exactly that file under ORIGIN's base name, with the same
// data path as every file of directory mode (the DataEngine, the shared data
// callbacks of mirror_fs_files.cc).
//
// The view's file is always a regular file: a block device shows its size and
// takes reads, writes, fsync and discards (fallocate PUNCH_HOLE / ZERO_RANGE)
// like an image file. The directory holds nothing else: creating, linking,
// renaming or removing anything in it fails with EPERM.
//
// Thread safety: as MirrorFs; all state is immutable after construction.
#pragma once

#include "fuse/mirror_fs.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

// ORIGIN of an image mount, opened for the life of the mount.
struct ImageOrigin {
  std::string path;           // canonical ORIGIN, reopened at every open (W6)
  std::string name;           // the one name in VIEW
  bool block_device = false;
  // A block device is held open with O_EXCL while mounted (read-write unless
  // the device is read-only), so that nothing mounts it or claims it behind the
  // cache. Every open of the view's file shares this open: the kernel lets only
  // the exclusive holder discard a range whose page cache is in use.
  UniqueFd claim;
};

// Opens ORIGIN (a regular file or a block device) for an image mount. Errors
// name the path and what to do.
Result<ImageOrigin> OpenImageOrigin(const Options& options);

class ImageFs : public ViewState {
 public:
  static constexpr fuse_ino_t kImageId = 2;

  ImageFs(const Options& options, DataEngine& engine, ImageOrigin origin,
          ViewControl control);

  static const fuse_lowlevel_ops& Operations();
  static ImageFs& From(fuse_req_t req) { return static_cast<ImageFs&>(ViewState::From(req)); }

  const Options& options() const { return options_; }
  const ImageOrigin& origin() const { return origin_; }

  // The attributes of node `id` (root or image) as VIEW shows them. 0 or an errno.
  int Stat(fuse_ino_t id, struct stat* st) const;
  // The view holds one file: every origin object the engine knows is it.
  std::optional<fuse_ino_t> NodeOf(uint64_t, uint64_t) const override { return kImageId; }
  std::atomic<bool>& PageCacheUsed(fuse_ino_t) override { return page_cache_used_; }

 private:
  // ORIGIN's own attributes (a block device's with its size).
  int OriginAttributes(struct stat* st) const;

  const Options& options_;
  const ImageOrigin origin_;
  struct stat root_;  // the view's directory; fixed at mount
  std::atomic<bool> page_cache_used_{false};
};

}  // namespace wtcachefs
