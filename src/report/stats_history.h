// SPDX-License-Identifier: Apache-2.0
// StatsHistory: samples of the cumulative counters, so that a user sees the hit
// ratio of the last five minutes, hour and day, not only since the cache was
// created (as bcache's stats_five_minute / stats_hour / stats_day).
//
// Thread safety: all methods may be called concurrently (one mutex).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>

#include "wtcachefs/clock.h"
#include "wtcachefs/engine_stats.h"

namespace wtcachefs {

class StatsHistory {
 public:
  static constexpr std::chrono::seconds kSampleEvery{10};
  static constexpr std::chrono::hours kKeep{24};

  explicit StatsHistory(const Clock& clock) : clock_(clock) {}

  // Offers the current totals; a sample is kept at most every kSampleEvery.
  void Record(const EngineStats& totals);
  // Counter increase over the last `window` (over the history held, when it is
  // shorter). Gauges (used/total blocks, index memory, degraded) are taken from
  // `now`.
  EngineStats Delta(const EngineStats& now, std::chrono::seconds window) const;

 private:
  struct Sample {
    Clock::TimePoint at;
    EngineStats totals;
  };
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::deque<Sample> samples_;  // oldest first; GUARDED_BY(mutex_)
};

// Hits over all reads, 0..1 (0 when there were no reads).
double ReadHitRatio(const EngineStats& stats);

}  // namespace wtcachefs
