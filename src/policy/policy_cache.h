// SPDX-License-Identifier: Apache-2.0
// PolicyCache: a cache of `capacity` blocks under one of the daemon's
// replacement policies, holding keys only, driven with the calls BlockIndex
// makes (wtcachefs/policy.h). The trace simulator replays whole traces through
// it; the daemon's miss-ratio curve keeps a few small ones fed by a sample of
// its own accesses (wtcachefs/miss_ratio_curve.h).
//
// Thread safety: none; the caller serialises every call.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "wtcachefs/block_key.h"
#include "wtcachefs/policy.h"
#include "wtcachefs/promotion_filter.h"

namespace wtcachefs {

class PolicyCache {
 public:
  // A block is promoted on its `promote_after`th read miss (1: every miss).
  PolicyCache(PolicyKind kind, uint64_t capacity, uint32_t promote_after = 1);

  // A read of `key`: true when it was cached. A miss is promoted when
  // `admit` (the daemon does not promote reads past its sequential cutoff)
  // and the promotion filter lets it.
  bool Read(const BlockKey& key, bool admit = true);
  // A write of `key`: a cached block is used again; a missing one is cached
  // when `allocate` (write-allocate, which no promotion filter holds back).
  void Write(const BlockKey& key, bool allocate);

  uint64_t capacity() const { return key_in_.size(); }
  // Heap memory held, counted from the containers' sizes.
  uint64_t memory_bytes() const;

 private:
  void Insert(const BlockKey& key);

  std::unique_ptr<ReplacementPolicy> policy_;
  PromotionFilter filter_;
  std::unordered_map<BlockKey, uint32_t, BlockKeyHash> slot_of_;
  std::vector<BlockKey> key_in_;  // by slot
  std::vector<uint32_t> free_slots_;
};

}  // namespace wtcachefs
