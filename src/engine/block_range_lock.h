// SPDX-License-Identifier: Apache-2.0
// BlockRangeLock: exclusive locks on ranges of one object's blocks, so writes
// to different blocks of a file run at once while two writes that share a
// block never overlap (origin and cache must see them in the same order).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace wtcachefs {

class BlockRangeLock {
 public:
  // Holds blocks [first, end) until destroyed.
  class Held {
   public:
    Held(BlockRangeLock& lock, uint64_t first, uint64_t end);
    // Takes the blocks only when no one holds any of them: check held().
    Held(BlockRangeLock& lock, uint64_t first, uint64_t end, std::try_to_lock_t);
    // Lets go (of nothing when not held); may run on another thread.
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    bool held() const { return held_; }

   private:
    BlockRangeLock& lock_;
    uint64_t first_, end_;
    bool held_ = true;
  };

 private:
  struct Range {
    uint64_t first, end;
  };
  bool OverlapsLocked(uint64_t first, uint64_t end) const;

  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<Range> held_;  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
