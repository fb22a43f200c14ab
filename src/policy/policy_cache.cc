// SPDX-License-Identifier: Apache-2.0
#include "policy/policy_cache.h"

namespace wtcachefs {

PolicyCache::PolicyCache(PolicyKind kind, uint64_t capacity, uint32_t promote_after)
    : policy_(MakePolicy(kind, capacity)), filter_(promote_after, 4 * capacity), key_in_(capacity) {
  slot_of_.reserve(capacity);
  free_slots_.reserve(capacity);
  // Slots handed out from 0 up, as the daemon's BlockIndex does.
  for (uint64_t s = capacity; s > 0; --s) free_slots_.push_back(static_cast<uint32_t>(s - 1));
}

bool PolicyCache::Read(const BlockKey& key, bool admit) {
  if (const auto it = slot_of_.find(key); it != slot_of_.end()) {
    policy_->OnHit(it->second);
    return true;
  }
  if (!admit) return false;
  policy_->OnMiss(key);
  if (filter_.OnMiss(key)) Insert(key);
  return false;
}

void PolicyCache::Write(const BlockKey& key, bool allocate) {
  if (const auto it = slot_of_.find(key); it != slot_of_.end()) {
    policy_->OnHit(it->second);
    return;
  }
  if (!allocate) return;
  policy_->OnMiss(key);
  Insert(key);
}

void PolicyCache::Insert(const BlockKey& key) {
  if (free_slots_.empty()) {
    const std::optional<uint32_t> victim = policy_->Victim([](uint32_t) { return true; });
    if (!victim) return;
    policy_->OnEvict(*victim, key_in_[*victim]);
    slot_of_.erase(key_in_[*victim]);
    free_slots_.push_back(*victim);
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  key_in_[slot] = key;
  slot_of_.emplace(key, slot);
  policy_->OnInsert(slot, key);
}

uint64_t PolicyCache::memory_bytes() const {
  // An unordered_map node holds the pair and a next pointer (and the hash is
  // recomputed, not cached, for this key type); a bucket is one pointer.
  constexpr uint64_t kNodeBytes = sizeof(void*) + sizeof(std::pair<const BlockKey, uint32_t>);
  return policy_->memory_bytes() + slot_of_.size() * kNodeBytes +
         slot_of_.bucket_count() * sizeof(void*) + key_in_.capacity() * sizeof(BlockKey) +
         free_slots_.capacity() * sizeof(uint32_t) + filter_.memory_bytes();
}

}  // namespace wtcachefs
