// SPDX-License-Identifier: Apache-2.0
// The replacement policies behind MakePolicy() (see wtcachefs/policy.h).
#pragma once

#include <optional>

#include "policy/ghost_list.h"
#include "policy/slot_lists.h"
#include "wtcachefs/policy.h"

namespace wtcachefs {

class LruPolicy final : public ReplacementPolicy {
 public:
  explicit LruPolicy(uint64_t capacity) : lists_(capacity) {}
  void OnHit(uint32_t slot) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(uint32_t slot, const BlockKey& key) override;
  void OnRemove(uint32_t slot, const BlockKey& key) override;
  std::optional<uint32_t> Victim(const std::function<bool(uint32_t)>& evictable) override;
  void OnEvict(uint32_t slot, const BlockKey& key) override;
  void Prefetch(uint32_t slot) const override { lists_.Prefetch(slot); }
  uint64_t memory_bytes() const override { return lists_.memory_bytes(); }

 private:
  static constexpr uint8_t kBlocks = 1;
  SlotLists lists_;
};

class TwoQueuePolicy final : public ReplacementPolicy {
 public:
  explicit TwoQueuePolicy(uint64_t capacity);
  void OnHit(uint32_t slot) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(uint32_t slot, const BlockKey& key) override;
  void OnRemove(uint32_t slot, const BlockKey& key) override;
  std::optional<uint32_t> Victim(const std::function<bool(uint32_t)>& evictable) override;
  void OnEvict(uint32_t slot, const BlockKey& key) override;
  void Prefetch(uint32_t slot) const override { lists_.Prefetch(slot); }
  uint64_t memory_bytes() const override {
    return lists_.memory_bytes() + ghosts_.memory_bytes();
  }

 private:
  static constexpr uint8_t kIn = 1;    // A1in: resident, seen once
  static constexpr uint8_t kMain = 2;  // Am: resident, seen again after leaving A1in
  const uint64_t in_limit_;     // Kin: the FIFO's share of the cache
  const uint64_t ghost_limit_;  // Kout: keys remembered after leaving the FIFO
  SlotLists lists_;
  GhostList ghosts_;                   // A1out: not resident
  std::optional<BlockKey> returning_;  // the last miss was a ghost
};

class ArcPolicy final : public ReplacementPolicy {
 public:
  explicit ArcPolicy(uint64_t capacity);
  void OnHit(uint32_t slot) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(uint32_t slot, const BlockKey& key) override;
  void OnRemove(uint32_t slot, const BlockKey& key) override;
  std::optional<uint32_t> Victim(const std::function<bool(uint32_t)>& evictable) override;
  void OnEvict(uint32_t slot, const BlockKey& key) override;
  void Prefetch(uint32_t slot) const override { lists_.Prefetch(slot); }
  uint64_t memory_bytes() const override {
    return lists_.memory_bytes() + recent_ghosts_.memory_bytes() +
           frequent_ghosts_.memory_bytes();
  }

 private:
  static constexpr uint8_t kRecent = 1;    // T1: resident, seen once
  static constexpr uint8_t kFrequent = 2;  // T2: resident, seen at least twice
  void TrimGhosts();

  const uint64_t capacity_;
  double target_recent_ = 0;  // p: the recency list's target size
  SlotLists lists_;
  GhostList recent_ghosts_;    // B1
  GhostList frequent_ghosts_;  // B2
  std::optional<BlockKey> returning_;
  bool last_miss_was_frequent_ghost_ = false;
};

}  // namespace wtcachefs
