// SPDX-License-Identifier: Apache-2.0
// ReuseDistanceSampler: the LRU miss-ratio curve of a block access stream at
// every cache size, from a spatially hashed sample of the stream (SHARDS,
// Waldspurger et al., FAST 2015, in its fixed-size form). A block is sampled
// when its hash lies below a threshold, so every access to a sampled block is
// seen and the sampled blocks' reuse distances, scaled by 1/rate, estimate the
// whole stream's. At most `max_blocks` blocks are tracked: when one more would
// exceed that, the tracked block of highest hash leaves, the threshold drops
// to its hash and the histogram is scaled to the lower rate, so memory stays
// fixed whatever the working set.
//
// A read is counted in the ratio; a write only makes its block the most
// recently used (in writethrough, a write is served by origin whatever the
// cache holds, but it may cache the block).
//
// Thread safety: none; the caller serialises every call.
#pragma once

#include <cstdint>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "wtcachefs/block_key.h"

namespace wtcachefs {

// Sampling hashes are 53 bits: a rate is a threshold over 2^53.
inline constexpr uint64_t kSampleHashScale = uint64_t{1} << 53;

// A well-mixed hash of `key` below kSampleHashScale (the block index's own
// hash is not mixed enough to sample by).
uint64_t SampleHashOf(const BlockKey& key);
// The threshold below which SampleHashOf samples `rate` of all blocks.
uint64_t SampleThresholdOf(double rate);
// A sampled hit ratio scaled to the whole stream (SHARDS's adjustment): the
// sampled reads are set to the count the rate promises, `expected_reads`,
// the difference counted as hits. It comes mostly from the few hottest
// blocks, sampled or not, whose reads hit. 0 before any read.
double AdjustedHitRatio(double sampled_hits, double sampled_reads, double expected_reads);

class ReuseDistanceSampler {
 public:
  // Sampling starts at `rate` (0 < rate <= 1). Estimated distances are kept in
  // `buckets` buckets of `bucket_blocks` blocks each; longer ones count as
  // misses at every size the histogram covers.
  ReuseDistanceSampler(double rate, size_t max_blocks, double bucket_blocks, size_t buckets);

  // Whether an access of a block with this hash is sampled now.
  bool Sampled(uint64_t hash) const { return hash < threshold_; }
  // A sampled access (Sampled(hash) held): a read when `counted`.
  void Access(uint64_t hash, const BlockKey& key, bool counted);

  // The LRU hit ratio of a cache of `cache_blocks` blocks over a stream that
  // held `stream_reads` reads in all (sampled or not); 0 before any read.
  double HitRatio(double cache_blocks, uint64_t stream_reads) const;
  // The smallest size whose hit ratio is within `tolerance` of the largest the
  // histogram covers: where the curve flattens (0 when reads never come back).
  // Nullopt when it has not flattened within the histogram's range, or
  // before any read.
  std::optional<double> FlatFrom(uint64_t stream_reads, double tolerance) const;

  double rate() const { return static_cast<double>(threshold_) / kSampleHashScale; }
  size_t sampled_blocks() const { return last_use_.size(); }
  uint64_t memory_bytes() const;

 private:
  using Times =
      __gnu_pbds::tree<uint64_t, __gnu_pbds::null_type, std::less<uint64_t>,
                       __gnu_pbds::rb_tree_tag, __gnu_pbds::tree_order_statistics_node_update>;
  struct Tracked {
    uint64_t hash;
    BlockKey key;
    bool operator<(const Tracked& other) const { return hash < other.hash; }
  };
  void EvictHighest();

  uint64_t threshold_;
  const size_t max_blocks_;
  const double bucket_blocks_;
  uint64_t now_ = 0;  // sampled accesses so far: the time of the next
  std::unordered_map<BlockKey, uint64_t, BlockKeyHash> last_use_;
  Times times_;                   // the last-use times of tracked blocks
  std::vector<Tracked> by_hash_;  // a max-heap of the tracked blocks
  std::vector<double> hist_;      // weighted reads by estimated distance
  double first_reads_ = 0;        // cold misses
  double beyond_ = 0;             // reads at distances past the histogram
  double sampled_reads_ = 0;      // the sum of hist_, first_reads_ and beyond_
};

}  // namespace wtcachefs
