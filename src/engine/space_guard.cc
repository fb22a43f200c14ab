// SPDX-License-Identifier: Apache-2.0
#include "engine/space_guard.h"

#include <sys/statvfs.h>

#include <algorithm>

namespace wtcachefs {

void SpaceGuard::Start() {
  // A cache remounted elastic may hold room in slots it no longer uses (after
  // a preallocated mount, or discarded slots the index does not remember).
  (void)slots_.DiscardFrom(index_.fresh_slots_from());
  DiscardFreeSlots();
  BeforeCommit();
  AfterCommit();
}

std::optional<int64_t> SpaceGuard::Headroom() const {
  struct statvfs fs;
  if (::fstatvfs(slots_.fd(), &fs) != 0) return std::nullopt;
  const auto total = static_cast<int64_t>(fs.f_blocks * fs.f_frsize);
  const auto available = static_cast<int64_t>(fs.f_bavail * fs.f_frsize);
  return available - total / 100 * static_cast<int64_t>(kFloorPercent);
}

void SpaceGuard::DiscardFreeSlots() {
  std::vector<uint32_t> free = index_.TakeFreeSlotsToDiscard();
  std::sort(free.begin(), free.end());
  size_t discarded = 0;
  if (!slots_.Discard(free, &discarded).ok()) cannot_discard_ = true;
  index_.ReturnLentSlots(free, discarded);
}

void SpaceGuard::BeforeCommit() {
  std::optional<int64_t> headroom = Headroom();
  if (headroom && *headroom < 0) {
    DiscardFreeSlots();
    headroom = Headroom();
  }
  const uint64_t held = index_.held_slots();
  if (!headroom) {
    index_.SetSpaceLimit(held);  // not measured: no growth, no eviction
    return;
  }
  below_floor_ = *headroom < 0;
  const uint64_t block_size = slots_.block_size();
  uint64_t limit = held;
  if (*headroom >= 0) {
    limit = held + static_cast<uint64_t>(*headroom) / block_size;
  } else if (!cannot_discard_) {
    const uint64_t deficit = (static_cast<uint64_t>(-*headroom) + block_size - 1) / block_size;
    limit = held - std::min(held, deficit);
  }  // else evicting would give no room back: the cache only stops growing
  index_.SetSpaceLimit(limit);
}

void SpaceGuard::AfterCommit() {
  if (below_floor_ && !cannot_discard_) DiscardFreeSlots();
}

}  // namespace wtcachefs
