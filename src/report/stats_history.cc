// SPDX-License-Identifier: Apache-2.0
#include "report/stats_history.h"

namespace wtcachefs {

void StatsHistory::Record(const EngineStats& totals) {
  const Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mutex_);
  if (!samples_.empty() && now - samples_.back().at < kSampleEvery) return;
  samples_.push_back(Sample{now, totals});
  while (samples_.size() > 1 && now - samples_[1].at >= kKeep) samples_.pop_front();
}

EngineStats StatsHistory::Delta(const EngineStats& now, std::chrono::seconds window) const {
  const Clock::TimePoint since = clock_.Now() - window;
  EngineStats base;
  {
    std::lock_guard lock(mutex_);
    // The newest sample at or before the window's start, else the oldest held.
    for (const Sample& sample : samples_) {
      if (sample.at > since && &sample != &samples_.front()) break;
      base = sample.totals;
      if (sample.at > since) break;
    }
  }
  EngineStats delta = now;
  ForEachCounter(delta, [&](std::string_view name, uint64_t& value) {
    const uint64_t before = *CounterByName(base, name);
    value = value >= before ? value - before : 0;
  });
  return delta;
}

double ReadHitRatio(const EngineStats& stats) {
  const uint64_t reads = stats.read_hits + stats.read_partial_hits + stats.read_misses;
  return reads == 0 ? 0.0 : static_cast<double>(stats.read_hits) / static_cast<double>(reads);
}

}  // namespace wtcachefs
