// SPDX-License-Identifier: Apache-2.0
#include "policy/policies.h"

namespace wtcachefs {

void LruPolicy::OnHit(uint32_t slot) { lists_.PushFront(kBlocks, slot); }
void LruPolicy::OnMiss(const BlockKey&) {}
void LruPolicy::OnInsert(uint32_t slot, const BlockKey&) { lists_.PushFront(kBlocks, slot); }
void LruPolicy::OnRemove(uint32_t slot, const BlockKey&) { lists_.Remove(slot); }
void LruPolicy::OnEvict(uint32_t slot, const BlockKey&) { lists_.Remove(slot); }

std::optional<uint32_t> LruPolicy::Victim(const std::function<bool(uint32_t)>& evictable) {
  const uint32_t slot = lists_.OldestAccepted(kBlocks, evictable);
  if (slot == SlotLists::kNone) return std::nullopt;
  return slot;
}

}  // namespace wtcachefs
