// SPDX-License-Identifier: Apache-2.0
// PromotionFilter: promote a block into the cache only on its Nth miss (Open
// CAS's "nhit" promotion policy), so a block read once never displaces one
// that is read again. Misses are counted in a fixed table of small counters
// indexed by a hash of the block (collisions only promote a little early); every
// `table size` misses all counts are halved, so blocks not asked for again are
// forgotten. Memory is fixed: one byte per table entry.
//
// Thread safety: none; the caller serialises.
#pragma once

#include <cstdint>
#include <vector>

#include "wtcachefs/block_key.h"

namespace wtcachefs {

class PromotionFilter {
 public:
  // `misses_needed` <= 1 promotes every miss.
  PromotionFilter(uint32_t misses_needed, uint64_t table_size);

  // Counts a miss of `key`; true when the block should be promoted now.
  bool OnMiss(const BlockKey& key);
  uint64_t memory_bytes() const { return counts_.size(); }

 private:
  uint32_t misses_needed_;
  std::vector<uint8_t> counts_;
  uint64_t misses_since_decay_ = 0;
};

}  // namespace wtcachefs
