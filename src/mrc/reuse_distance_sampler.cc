// SPDX-License-Identifier: Apache-2.0
#include "mrc/reuse_distance_sampler.h"

#include <algorithm>
#include <cmath>

namespace wtcachefs {

namespace {

// SplitMix64's step: every input bit reaches every output bit.
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t SampleHashOf(const BlockKey& key) { return Mix(Mix(key.object_id) ^ key.block) >> 11; }

uint64_t SampleThresholdOf(double rate) {
  return std::clamp<uint64_t>(
      static_cast<uint64_t>(std::ceil(rate * static_cast<double>(kSampleHashScale))), 1,
      kSampleHashScale);
}

double AdjustedHitRatio(double sampled_hits, double sampled_reads, double expected_reads) {
  if (sampled_reads <= 0 || expected_reads <= 0) return 0;
  return std::clamp((sampled_hits + expected_reads - sampled_reads) / expected_reads, 0.0, 1.0);
}

ReuseDistanceSampler::ReuseDistanceSampler(double rate, size_t max_blocks, double bucket_blocks,
                                           size_t buckets)
    : threshold_(SampleThresholdOf(rate)),
      max_blocks_(std::max<size_t>(max_blocks, 1)),
      bucket_blocks_(std::max(bucket_blocks, 1e-9)),
      hist_(std::max<size_t>(buckets, 1), 0.0) {
  last_use_.reserve(max_blocks_ + 1);
  by_hash_.reserve(max_blocks_ + 1);
}

void ReuseDistanceSampler::Access(uint64_t hash, const BlockKey& key, bool counted) {
  const uint64_t now = now_++;
  const auto [it, first] = last_use_.try_emplace(key, now);
  if (first) {
    times_.insert(now);
    by_hash_.push_back(Tracked{hash, key});
    std::push_heap(by_hash_.begin(), by_hash_.end());
    if (counted) {
      first_reads_ += 1;  // a miss at every size
      sampled_reads_ += 1;
    }
    if (last_use_.size() > max_blocks_) EvictHighest();
    return;
  }
  const uint64_t last = it->second;
  if (counted) {
    // Distinct blocks used since `last`: the tracked ones used later.
    const uint64_t later = times_.size() - 1 - times_.order_of_key(last);
    const double estimated = static_cast<double>(later) / rate();
    const double bucket = std::floor(estimated / bucket_blocks_);
    if (bucket < static_cast<double>(hist_.size())) {
      hist_[static_cast<size_t>(bucket)] += 1;
    } else {
      beyond_ += 1;
    }
    sampled_reads_ += 1;
  }
  times_.erase(last);
  times_.insert(now);
  it->second = now;
}

void ReuseDistanceSampler::EvictHighest() {
  const uint64_t old_threshold = threshold_;
  threshold_ = by_hash_.front().hash;
  // Blocks hashed at or above the new threshold are no longer sampled.
  while (!by_hash_.empty() && by_hash_.front().hash >= threshold_) {
    std::pop_heap(by_hash_.begin(), by_hash_.end());
    const auto it = last_use_.find(by_hash_.back().key);
    times_.erase(it->second);
    last_use_.erase(it);
    by_hash_.pop_back();
  }
  // What was seen at the old rate counts at the new one.
  const double scale = static_cast<double>(threshold_) / static_cast<double>(old_threshold);
  for (double& count : hist_) count *= scale;
  first_reads_ *= scale;
  beyond_ *= scale;
  sampled_reads_ *= scale;
}

double ReuseDistanceSampler::HitRatio(double cache_blocks, uint64_t stream_reads) const {
  if (cache_blocks <= 0) return 0;
  // A read hits a cache of c blocks when fewer than c others came between.
  const double whole = cache_blocks / bucket_blocks_;
  double hits = 0;
  const size_t full = static_cast<size_t>(std::min(std::floor(whole), double(hist_.size())));
  for (size_t b = 0; b < full; ++b) hits += hist_[b];
  if (full < hist_.size()) hits += hist_[full] * (whole - static_cast<double>(full));
  return AdjustedHitRatio(hits, sampled_reads_, static_cast<double>(stream_reads) * rate());
}

std::optional<double> ReuseDistanceSampler::FlatFrom(uint64_t stream_reads,
                                                     double tolerance) const {
  const double expected = static_cast<double>(stream_reads) * rate();
  if (expected <= 0 || sampled_reads_ <= 0) return std::nullopt;
  // Reuses past the covered range: the curve still rises after it.
  double tail = beyond_;
  if (tail > tolerance * expected) return std::nullopt;
  size_t b = hist_.size();  // the hits at distances from bucket b on make `tail`
  while (b > 0 && tail + hist_[b - 1] <= tolerance * expected) tail += hist_[--b];
  return bucket_blocks_ * static_cast<double>(b);
}

uint64_t ReuseDistanceSampler::memory_bytes() const {
  // Per tracked block: a hash-map node (next, key, time, cached hash), a tree
  // node (value, three links, colour and subtree size) and a heap entry.
  constexpr uint64_t kMapNode = 2 * sizeof(void*) + sizeof(BlockKey) + sizeof(uint64_t);
  constexpr uint64_t kTreeNode = 4 * sizeof(void*) + 2 * sizeof(uint64_t);
  return last_use_.size() * (kMapNode + kTreeNode) + last_use_.bucket_count() * sizeof(void*) +
         by_hash_.capacity() * sizeof(Tracked) + hist_.capacity() * sizeof(double);
}

}  // namespace wtcachefs
