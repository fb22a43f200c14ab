// The replacement policies behind MakePolicy() (see wtcachefs/policy.h).
#pragma once

#include "policy/key_list.h"
#include "wtcachefs/policy.h"

namespace wtcachefs {

class LruPolicy final : public ReplacementPolicy {
 public:
  void OnHit(const BlockKey& key) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(const BlockKey& key) override;
  void OnRemove(const BlockKey& key) override;
  std::optional<BlockKey> Victim(const std::function<bool(const BlockKey&)>& evictable) override;
  void OnEvict(const BlockKey& key) override;

 private:
  KeyList blocks_;
};

class TwoQueuePolicy final : public ReplacementPolicy {
 public:
  explicit TwoQueuePolicy(uint64_t capacity);
  void OnHit(const BlockKey& key) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(const BlockKey& key) override;
  void OnRemove(const BlockKey& key) override;
  std::optional<BlockKey> Victim(const std::function<bool(const BlockKey&)>& evictable) override;
  void OnEvict(const BlockKey& key) override;

 private:
  const uint64_t in_limit_;     // Kin: the FIFO's share of the cache
  const uint64_t ghost_limit_;  // Kout: keys remembered after leaving the FIFO
  KeyList in_;                  // A1in: resident, seen once
  KeyList main_;                // Am: resident, seen again after leaving A1in
  KeyList ghosts_;              // A1out: not resident
  std::optional<BlockKey> returning_;  // the last miss was a ghost
};

class ArcPolicy final : public ReplacementPolicy {
 public:
  explicit ArcPolicy(uint64_t capacity);
  void OnHit(const BlockKey& key) override;
  void OnMiss(const BlockKey& key) override;
  void OnInsert(const BlockKey& key) override;
  void OnRemove(const BlockKey& key) override;
  std::optional<BlockKey> Victim(const std::function<bool(const BlockKey&)>& evictable) override;
  void OnEvict(const BlockKey& key) override;

 private:
  void TrimGhosts();

  const uint64_t capacity_;
  double target_recent_ = 0;  // p: the recency list's target size
  KeyList recent_;            // T1: resident, seen once
  KeyList frequent_;          // T2: resident, seen at least twice
  KeyList recent_ghosts_;     // B1
  KeyList frequent_ghosts_;   // B2
  std::optional<BlockKey> returning_;
  bool last_miss_was_frequent_ghost_ = false;
};

}  // namespace wtcachefs
