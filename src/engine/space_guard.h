// SPDX-License-Identifier: Apache-2.0
// SpaceGuard: keeps an elastic cache (CacheSpace::kElastic) from taking the
// file system of its directory below the free-space floor, whatever else fills
// that file system later: cachefilesd's culling, with one threshold.
//
//  - The cache may hold data in as many slots as it holds now, plus as many as
//    the free space above the floor has room for (BlockIndex::SetSpaceLimit):
//    its own growth stops at the floor, and a request that finds no slot within
//    the limit goes uncached, without an error.
//  - Below the floor it gives room back until the floor is reached or it holds
//    nothing: first the room of free slots (punched out of the slot file), then
//    that of its least valuable blocks, evicted by the policy and punched once
//    the group commit has made their unmapping durable (DESIGN W4).
//
// The floor is kFloorPercent of the file system's size, measured in the space
// unprivileged programs may still use (statvfs f_bavail). The checksum file
// (1/1024 of the data) and the metadata are not counted. When the file system
// cannot be measured, the cache does not grow.
//
// Thread safety: the flusher thread calls BeforeCommit and AfterCommit around
// each group commit; Start runs before it starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cache_dir/slot_file.h"
#include "wtcachefs/block_index.h"

namespace wtcachefs {

class SpaceGuard {
 public:
  static constexpr uint64_t kFloorPercent = 10;

  SpaceGuard(BlockIndex& index, SlotFile& slots) : index_(index), slots_(slots) {}

  // At mount, after the index is loaded: gives back the room of slots past the
  // highest one in use (a cache preallocated by an earlier mount) and sets the
  // first limit.
  void Start();
  // Measures the free space and sets the limit, evicting when below the floor.
  void BeforeCommit();
  // Below the floor: gives back the room of the slots the commit freed.
  void AfterCommit();

 private:
  // Bytes above (positive) or below (negative) the floor; nullopt when the
  // file system cannot be measured (the limit is then left as it is).
  std::optional<int64_t> Headroom() const;
  // Lends the index's free slots that hold data, punches them out of the slot
  // file and hands them back. A punch that fails (a file system without
  // hole punching) sets cannot_discard_: below the floor the cache then stops
  // growing rather than evicting, which would give no room back.
  void DiscardFreeSlots();

  BlockIndex& index_;
  SlotFile& slots_;
  bool below_floor_ = false;
  bool cannot_discard_ = false;
};

}  // namespace wtcachefs
