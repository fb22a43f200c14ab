// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/miss_ratio_curve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include "mrc/reuse_distance_sampler.h"
#include "policy/policy_cache.h"

namespace wtcachefs {
namespace {

// The reuse-distance histogram: 64 buckets per cache size, up to 32 times it.
constexpr double kBucketsPerCache = 64;
constexpr double kCoveredCaches = 32;
// The working set: where a larger LRU cache gains less than a point.
constexpr double kFlatTolerance = 0.01;

}  // namespace

struct MissRatioCurve::Samples {
  ReuseDistanceSampler distances;
  std::vector<PolicyCache> simulations;  // one per kMrcScales entry
  uint64_t reads = 0;                    // sampled reads: every simulation sees each
  std::vector<uint64_t> hits;            // by simulation
  Clock::TimePoint started;
};

MissRatioCurve::MissRatioCurve(const Config& config)
    : config_(config),
      simulation_rate_(config.cache_blocks == 0
                           ? 1.0
                           : std::min(1.0, static_cast<double>(config.simulated_blocks) /
                                               static_cast<double>(config.cache_blocks))),
      simulation_threshold_(SampleThresholdOf(simulation_rate_)),
      samples_(config.enabled ? MakeSamplesLocked() : nullptr) {}

MissRatioCurve::~MissRatioCurve() = default;

std::unique_ptr<MissRatioCurve::Samples> MissRatioCurve::MakeSamplesLocked() const {
  const double cache_blocks = static_cast<double>(std::max<uint64_t>(config_.cache_blocks, 1));
  auto samples = std::unique_ptr<Samples>(new Samples{
      .distances = ReuseDistanceSampler(simulation_rate_, config_.max_sampled_blocks,
                                        cache_blocks / kBucketsPerCache,
                                        static_cast<size_t>(kBucketsPerCache * kCoveredCaches)),
      .simulations = {},
      .reads = 0,
      .hits = std::vector<uint64_t>(std::size(kMrcScales)),
      .started = config_.clock->Now()});
  for (const double scale : kMrcScales) {
    const double slots = std::round(scale * cache_blocks * simulation_rate_);
    samples->simulations.emplace_back(config_.policy, static_cast<uint64_t>(std::max(slots, 1.0)),
                                      config_.promote_after);
  }
  return samples;
}

void MissRatioCurve::OnRead(const BlockKey& key, bool hit, bool admit) noexcept {
  if (!config_.enabled) return;
  thread_local const size_t stripe =
      std::hash<std::thread::id>()(std::this_thread::get_id()) % kStripes;
  ReadCounts& counts = read_counts_[stripe];
  counts.reads.fetch_add(1, std::memory_order_relaxed);
  if (hit) counts.hits.fetch_add(1, std::memory_order_relaxed);
  Sample(key, /*read=*/true, admit);
}

void MissRatioCurve::OnWrite(const BlockKey& key, bool allocate) noexcept {
  if (config_.enabled) Sample(key, /*read=*/false, allocate);
}

void MissRatioCurve::Sample(const BlockKey& key, bool read, bool cache) noexcept {
  const uint64_t hash = SampleHashOf(key);
  if (hash >= simulation_threshold_) return;
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  try {
    Samples& s = *samples_;
    if (read) ++s.reads;
    for (size_t i = 0; i < s.simulations.size(); ++i) {
      if (!read) {
        s.simulations[i].Write(key, cache);
      } else if (s.simulations[i].Read(key, cache)) {
        ++s.hits[i];
      }
    }
    if (s.distances.Sampled(hash)) s.distances.Access(hash, key, /*counted=*/read);
  } catch (...) {
    stopped_ = true;  // out of memory: serving goes on, the curve waits for a reset
  }
}

void MissRatioCurve::Reset() {
  // Built under the lock: a reset is rare, and a concurrent SetPromoteAfter
  // must not see its rule lost.
  std::lock_guard lock(mutex_);
  RestartLocked();
}

void MissRatioCurve::SetPromoteAfter(uint32_t n) {
  std::lock_guard lock(mutex_);
  if (config_.promote_after == n) return;
  config_.promote_after = n;
  RestartLocked();
}

void MissRatioCurve::ZeroReadCounts() {
  for (ReadCounts& counts : read_counts_) {
    counts.reads.store(0, std::memory_order_relaxed);
    counts.hits.store(0, std::memory_order_relaxed);
  }
}

void MissRatioCurve::RestartLocked() {
  if (!config_.enabled) return;
  samples_ = MakeSamplesLocked();
  stopped_ = false;
  ZeroReadCounts();
}

MrcSnapshot MissRatioCurve::Snapshot() const {
  MrcSnapshot snapshot;
  snapshot.policy = config_.policy;
  snapshot.cache_blocks = config_.cache_blocks;
  snapshot.block_size = config_.block_size;
  snapshot.simulation_rate = simulation_rate_;
  if (!config_.enabled) {
    snapshot.enabled = false;
    return snapshot;
  }
  std::lock_guard lock(mutex_);
  const Samples& s = *samples_;
  for (const ReadCounts& counts : read_counts_) {
    snapshot.reads += counts.reads.load(std::memory_order_relaxed);
    snapshot.hits += counts.hits.load(std::memory_order_relaxed);
  }
  snapshot.hits = std::min(snapshot.hits, snapshot.reads);
  snapshot.window_seconds = std::chrono::duration<double>(config_.clock->Now() - s.started).count();
  snapshot.sampling_rate = s.distances.rate();
  snapshot.sampled_blocks = s.distances.sampled_blocks();
  snapshot.memory_bytes = sizeof(*this) + sizeof(Samples) + s.distances.memory_bytes() +
                          s.hits.capacity() * sizeof(uint64_t);
  for (size_t i = 0; i < s.simulations.size(); ++i) {
    snapshot.memory_bytes += sizeof(PolicyCache) + s.simulations[i].memory_bytes();
    const double blocks = kMrcScales[i] * static_cast<double>(config_.cache_blocks);
    const auto rounded = static_cast<uint64_t>(std::llround(blocks));
    // A cache of a few blocks has no quarter: each size once.
    if (rounded == 0 ||
        (!snapshot.points.empty() && snapshot.points.back().cache_blocks == rounded)) {
      continue;
    }
    snapshot.points.push_back(MrcPoint{
        .cache_blocks = rounded,
        .hit_ratio = AdjustedHitRatio(static_cast<double>(s.hits[i]), static_cast<double>(s.reads),
                                      static_cast<double>(snapshot.reads) * simulation_rate_),
        .lru_hit_ratio = s.distances.HitRatio(blocks, snapshot.reads)});
  }
  snapshot.sampled_reads = s.reads;
  if (const auto flat = s.distances.FlatFrom(snapshot.reads, kFlatTolerance)) {
    snapshot.working_set_blocks = static_cast<uint64_t>(std::ceil(*flat));
  }
  return snapshot;
}

}  // namespace wtcachefs
