// SPDX-License-Identifier: Apache-2.0
#include <algorithm>

#include "policy/policies.h"

namespace wtcachefs {

TwoQueuePolicy::TwoQueuePolicy(uint64_t capacity)
    : in_limit_(std::max<uint64_t>(1, capacity / 4)),
      ghost_limit_(std::max<uint64_t>(1, capacity / 2)),
      lists_(capacity) {}

void TwoQueuePolicy::OnHit(uint32_t slot) {
  // A hit in the FIFO does not promote: a block must survive leaving it.
  if (lists_.Contains(kMain, slot)) lists_.PushFront(kMain, slot);
}

void TwoQueuePolicy::OnMiss(const BlockKey& key) {
  if (ghosts_.Remove(GhostList::FingerprintOf(key))) returning_ = key;
}

void TwoQueuePolicy::OnInsert(uint32_t slot, const BlockKey& key) {
  lists_.PushFront(returning_ && *returning_ == key ? kMain : kIn, slot);
  returning_.reset();
}

void TwoQueuePolicy::OnRemove(uint32_t slot, const BlockKey& key) {
  lists_.Remove(slot);
  ghosts_.Remove(GhostList::FingerprintOf(key));
}

std::optional<uint32_t> TwoQueuePolicy::Victim(const std::function<bool(uint32_t)>& evictable) {
  const uint8_t first = lists_.size(kIn) > in_limit_ || lists_.empty(kMain) ? kIn : kMain;
  const uint8_t second = first == kIn ? kMain : kIn;
  uint32_t slot = lists_.OldestAccepted(first, evictable);
  if (slot == SlotLists::kNone) slot = lists_.OldestAccepted(second, evictable);
  if (slot == SlotLists::kNone) return std::nullopt;
  return slot;
}

void TwoQueuePolicy::OnEvict(uint32_t slot, const BlockKey& key) {
  if (lists_.RemoveFrom(kIn, slot)) {
    ghosts_.PushFront(GhostList::FingerprintOf(key));
    if (ghosts_.size() > ghost_limit_) ghosts_.PopBack();
    return;
  }
  lists_.Remove(slot);
}

}  // namespace wtcachefs
