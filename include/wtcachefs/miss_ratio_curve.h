// SPDX-License-Identifier: Apache-2.0
// MissRatioCurve: how the hit ratio of the workload the daemon serves would
// change with the cache's size, measured live (wtcachefs status --mrc).
//
// Two estimates, both fed by a spatially hashed sample of the engine's block
// accesses (a block is sampled when the hash of its key lies below a
// threshold, so all of a sampled block's accesses are seen):
//  - the LRU curve at every size, from sampled reuse distances (SHARDS,
//    Waldspurger et al., FAST 2015; the fixed-size form, so memory stays
//    constant: mrc/reuse_distance_sampler.h);
//  - the configured policy's hit ratio at sizes from 1/4 to 8 times the cache,
//    each from a miniature simulation of that policy (the daemon's own code,
//    driven as the trace simulator drives it: policy/policy_cache.h) at the
//    size scaled by the sampling rate (Waldspurger et al., USENIX ATC 2017).
// A hit is a block read whose block is cached; a write makes its block
// recently used and, under write-allocate, cached. Reads smaller than a block
// that find their block cached but their sectors not yet read are misses to
// the engine and hits to the curve: with such reads the curve is an upper
// bound. The curve describes the workload since the mount or the last
// Reset(); nothing of it is stored.
//
// Thread safety: OnRead and OnWrite may be called from any thread; an access
// of a block not sampled costs a hash and two atomic additions. Snapshot and
// Reset may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "wtcachefs/block_key.h"
#include "wtcachefs/clock.h"
#include "wtcachefs/policy.h"

namespace wtcachefs {

class PolicyCache;
class ReuseDistanceSampler;

// The sizes simulated, as multiples of the cache's: 1/4x to 8x.
inline constexpr double kMrcScales[] = {0.25, 0.5, 1, 2, 4, 8};

struct MrcPoint {
  uint64_t cache_blocks = 0;
  double hit_ratio = 0;      // under the configured policy
  double lru_hit_ratio = 0;  // under LRU
};

struct MrcSnapshot {
  bool enabled = true;  // false: -o mrc=off, and nothing below is measured
  PolicyKind policy = kDefaultPolicy;
  uint64_t cache_blocks = 0;  // the cache's size now
  uint32_t block_size = 0;
  double sampling_rate = 0;    // of the reuse distances, now
  double simulation_rate = 0;  // of the miniature simulations
  uint64_t sampled_blocks = 0;
  uint64_t memory_bytes = 0;
  double window_seconds = 0;   // since the mount or the last reset
  uint64_t reads = 0;          // block reads in the window
  uint64_t hits = 0;           // of them, served by the cache
  uint64_t sampled_reads = 0;  // of them, seen by the simulations
  // The size from which a larger LRU cache gains less than one point: the
  // working set. Nullopt when it lies beyond 32 times the cache (or no reads).
  std::optional<uint64_t> working_set_blocks;
  // One per kMrcScales entry, by size; a size that rounds to no block, or to
  // the previous one's, is left out (a cache of a few blocks).
  std::vector<MrcPoint> points;

  double measured_hit_ratio() const {
    return reads == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(reads);
  }
  // The point at the cache's own size (a snapshot always holds it).
  const MrcPoint& current() const {
    for (const MrcPoint& p : points) {
      if (p.cache_blocks == cache_blocks) return p;
    }
    return points.front();
  }
};

class MissRatioCurve {
 public:
  struct Config {
    PolicyKind policy = kDefaultPolicy;
    uint64_t cache_blocks = 0;
    uint32_t block_size = 0;
    uint32_t promote_after = 1;
    // Blocks whose reuse distances are tracked at most (SHARDS's s_max).
    size_t max_sampled_blocks = 4096;
    // The slots of the simulation at the cache's own size: the sampling rate
    // is this over the cache's blocks (at most 1, an exact simulation).
    uint64_t simulated_blocks = 2048;
    // Off (-o mrc=off): nothing is allocated, an access costs a branch.
    bool enabled = true;
    const Clock* clock = &SystemClock();
  };

  explicit MissRatioCurve(const Config& config);
  ~MissRatioCurve();

  // A read of one block: `hit` when the cache served it; a miss is promoted
  // when `admit` (reads past the sequential cutoff are not).
  // Never throws: out of memory, the curve stops until the next reset.
  void OnRead(const BlockKey& key, bool hit, bool admit) noexcept;
  // A write of one block, which is cached when missing if `allocate` (also a
  // block read into the cache by `wtcachefs warm`, which is not a read of the
  // workload).
  void OnWrite(const BlockKey& key, bool allocate) noexcept;
  // Starts again from nothing.
  void Reset();
  // The engine now promotes on the `n`th miss: the curve starts again from
  // nothing under that rule.
  void SetPromoteAfter(uint32_t n);
  MrcSnapshot Snapshot() const;

 private:
  struct Samples;
  std::unique_ptr<Samples> MakeSamplesLocked() const;
  // Starts the curve again from nothing.
  void RestartLocked();
  // An access of `key`, a read or a write; `cache`: a missing block is cached
  // (a read's admission, a write's allocation). Only sampled blocks go on.
  void Sample(const BlockKey& key, bool read, bool cache) noexcept;

  Config config_;  // promote_after GUARDED_BY(mutex_)
  const double simulation_rate_;
  const uint64_t simulation_threshold_;  // of SampleHashOf
  // Every read adds to one stripe, chosen by its thread: a cache line that
  // other threads seldom write (Snapshot sums them).
  struct alignas(64) ReadCounts {
    std::atomic<uint64_t> reads{0};
    std::atomic<uint64_t> hits{0};
  };
  static constexpr size_t kStripes = 16;
  std::array<ReadCounts, kStripes> read_counts_;
  void ZeroReadCounts();
  alignas(64) mutable std::mutex mutex_;
  std::unique_ptr<Samples> samples_;  // GUARDED_BY(mutex_)
  bool stopped_ = false;              // GUARDED_BY(mutex_): an allocation failed
};

}  // namespace wtcachefs
