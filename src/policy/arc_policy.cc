// SPDX-License-Identifier: Apache-2.0
#include <algorithm>

#include "policy/policies.h"

namespace wtcachefs {

ArcPolicy::ArcPolicy(uint64_t capacity)
    : capacity_(std::max<uint64_t>(1, capacity)), lists_(capacity) {}

void ArcPolicy::OnHit(uint32_t slot) {
  // Seen twice while cached: frequent.
  lists_.PushFront(kFrequent, slot);
}

void ArcPolicy::OnMiss(const BlockKey& key) {
  last_miss_was_frequent_ghost_ = false;
  const double recent_ghosts = static_cast<double>(recent_ghosts_.size());
  const double frequent_ghosts = static_cast<double>(frequent_ghosts_.size());
  const uint32_t fingerprint = GhostList::FingerprintOf(key);
  if (recent_ghosts_.Remove(fingerprint)) {
    // Evicted from the recency side too early: give it more room.
    const double step = std::max(1.0, frequent_ghosts / std::max(1.0, recent_ghosts));
    target_recent_ = std::min(static_cast<double>(capacity_), target_recent_ + step);
    returning_ = key;
  } else if (frequent_ghosts_.Remove(fingerprint)) {
    const double step = std::max(1.0, recent_ghosts / std::max(1.0, frequent_ghosts));
    target_recent_ = std::max(0.0, target_recent_ - step);
    returning_ = key;
    last_miss_was_frequent_ghost_ = true;
  } else {
    returning_.reset();
  }
}

void ArcPolicy::OnInsert(uint32_t slot, const BlockKey& key) {
  lists_.PushFront(returning_ && *returning_ == key ? kFrequent : kRecent, slot);
  returning_.reset();
  TrimGhosts();
}

void ArcPolicy::OnRemove(uint32_t slot, const BlockKey&) { lists_.Remove(slot); }

std::optional<uint32_t> ArcPolicy::Victim(const std::function<bool(uint32_t)>& evictable) {
  const double recent = static_cast<double>(lists_.size(kRecent));
  const bool from_recent =
      !lists_.empty(kRecent) &&
      (recent > target_recent_ || (last_miss_was_frequent_ghost_ && recent == target_recent_) ||
       lists_.empty(kFrequent));
  const uint8_t first = from_recent ? kRecent : kFrequent;
  const uint8_t second = from_recent ? kFrequent : kRecent;
  uint32_t slot = lists_.OldestAccepted(first, evictable);
  if (slot == SlotLists::kNone) slot = lists_.OldestAccepted(second, evictable);
  if (slot == SlotLists::kNone) return std::nullopt;
  return slot;
}

void ArcPolicy::OnEvict(uint32_t slot, const BlockKey& key) {
  const uint8_t list = lists_.ListOf(slot);
  if (lists_.Remove(slot)) {
    (list == kRecent ? recent_ghosts_ : frequent_ghosts_)
        .PushFront(GhostList::FingerprintOf(key));
  }
  TrimGhosts();
}

void ArcPolicy::TrimGhosts() {
  // ARC's directory bounds: |T1| + |B1| <= c and |T1| + |T2| + |B1| + |B2| <= 2c.
  const uint64_t recent = lists_.size(kRecent), frequent = lists_.size(kFrequent);
  while (recent + recent_ghosts_.size() > capacity_ && recent_ghosts_.PopBack()) {
  }
  while (recent + frequent + recent_ghosts_.size() + frequent_ghosts_.size() > 2 * capacity_ &&
         frequent_ghosts_.PopBack()) {
  }
}

}  // namespace wtcachefs
