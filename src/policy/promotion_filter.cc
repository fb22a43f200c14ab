// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/promotion_filter.h"

#include <algorithm>

namespace wtcachefs {

PromotionFilter::PromotionFilter(uint32_t misses_needed, uint64_t table_size)
    : misses_needed_(misses_needed),
      counts_(misses_needed <= 1 ? 0 : std::max<uint64_t>(table_size, 1024), 0) {}

bool PromotionFilter::OnMiss(const BlockKey& key) {
  if (misses_needed_ <= 1) return true;
  if (++misses_since_decay_ >= counts_.size()) {
    for (uint8_t& count : counts_) count /= 2;
    misses_since_decay_ = 0;
  }
  uint8_t& count = counts_[BlockKeyHash()(key) % counts_.size()];
  if (count < 255) ++count;
  if (count < misses_needed_) return false;
  count = 0;
  return true;
}

}  // namespace wtcachefs
