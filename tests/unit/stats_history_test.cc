// SPDX-License-Identifier: Apache-2.0
// Recent-window statistics: what happened in the last five minutes or hour, not
// only since creation.
#include <gtest/gtest.h>

#include "report/stats_history.h"

namespace wtcachefs {
namespace {

using namespace std::chrono_literals;

EngineStats Reads(uint64_t hits, uint64_t misses) {
  EngineStats s;
  s.read_hits = hits;
  s.read_misses = misses;
  return s;
}

TEST(StatsHistory, WindowShowsOnlyTheRecentIncrease) {
  ManualClock clock;
  StatsHistory history(clock);
  history.Record(Reads(0, 0));
  clock.Advance(1h);
  history.Record(Reads(0, 1000));  // a cold hour: all misses
  clock.Advance(5min);
  history.Record(Reads(0, 1000));
  clock.Advance(5min);
  const EngineStats now = Reads(300, 1000);  // a warm five minutes: all hits
  const EngineStats last5 = history.Delta(now, 5min);
  EXPECT_EQ(last5.read_hits, 300u);
  EXPECT_EQ(last5.read_misses, 0u);
  EXPECT_DOUBLE_EQ(ReadHitRatio(last5), 1.0);
  const EngineStats last_hour = history.Delta(now, 1h);
  EXPECT_EQ(last_hour.read_misses, 1000u) << "the hour window reaches back to the cold misses";
  EXPECT_EQ(last_hour.read_hits, 300u);
  const EngineStats day = history.Delta(now, 24h);
  EXPECT_EQ(day.read_hits, 300u);
  EXPECT_EQ(day.read_misses, 1000u);
  EXPECT_NEAR(ReadHitRatio(day), 300.0 / 1300.0, 1e-9);
}

TEST(StatsHistory, SamplesAreThinnedAndOldOnesDropped) {
  ManualClock clock;
  StatsHistory history(clock);
  for (int i = 0; i < 100; ++i) {
    history.Record(Reads(static_cast<uint64_t>(i), 0));  // kept: i = 0, 10, ..., 90
    clock.Advance(1s);
  }
  // At t=100 s the 30 s window starts at the sample of t=70 s.
  EXPECT_EQ(history.Delta(Reads(100, 0), 30s).read_hits, 30u);
  clock.Advance(25h);
  history.Record(Reads(1000, 0));
  // Samples older than a day are gone except the last one before the day began
  // (t=90 s, value 90), which still anchors the day window.
  EXPECT_EQ(history.Delta(Reads(1100, 0), 48h).read_hits, 1010u);
}

TEST(StatsHistory, GaugesAreTheCurrentValueNotAnIncrease) {
  ManualClock clock;
  StatsHistory history(clock);
  EngineStats before = Reads(0, 0);
  before.used_blocks = 10;
  before.index_memory_bytes = 4000;
  history.Record(before);
  clock.Advance(10min);
  EngineStats now = Reads(5, 0);
  now.used_blocks = 12;
  now.index_memory_bytes = 5000;
  const EngineStats last_hour = history.Delta(now, 1h);
  EXPECT_EQ(last_hour.read_hits, 5u);
  EXPECT_EQ(last_hour.used_blocks, 12u);
  EXPECT_EQ(last_hour.index_memory_bytes, 5000u);
  // Not a counter: never persisted, never loaded back.
  EXPECT_EQ(CounterByName(now, "index_memory_bytes"), nullptr);
  EXPECT_EQ(CounterByName(now, "used_blocks"), nullptr);
}

TEST(StatsHistory, NoReadsMeansZeroRatio) { EXPECT_EQ(ReadHitRatio(EngineStats{}), 0.0); }

}  // namespace
}  // namespace wtcachefs
