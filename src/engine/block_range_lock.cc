// SPDX-License-Identifier: Apache-2.0
#include "engine/block_range_lock.h"

#include <algorithm>

namespace wtcachefs {

bool BlockRangeLock::OverlapsLocked(uint64_t first, uint64_t end) const {
  return std::any_of(held_.begin(), held_.end(),
                     [&](const Range& r) { return first < r.end && r.first < end; });
}

BlockRangeLock::Held::Held(BlockRangeLock& lock, uint64_t first, uint64_t end)
    : lock_(lock), first_(first), end_(std::max(end, first + 1)) {
  std::unique_lock guard(lock_.mutex_);
  lock_.released_.wait(guard, [&] { return !lock_.OverlapsLocked(first_, end_); });
  lock_.held_.push_back({first_, end_});
}

BlockRangeLock::Held::Held(BlockRangeLock& lock, uint64_t first, uint64_t end,
                           std::try_to_lock_t)
    : lock_(lock), first_(first), end_(std::max(end, first + 1)) {
  std::lock_guard guard(lock_.mutex_);
  held_ = !lock_.OverlapsLocked(first_, end_);
  if (held_) lock_.held_.push_back({first_, end_});
}

BlockRangeLock::Held::~Held() {
  if (!held_) return;
  {
    std::lock_guard guard(lock_.mutex_);
    auto it = std::find_if(lock_.held_.begin(), lock_.held_.end(),
                           [&](const Range& r) { return r.first == first_ && r.end == end_; });
    lock_.held_.erase(it);
  }
  lock_.released_.notify_all();
}

}  // namespace wtcachefs
