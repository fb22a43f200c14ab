// SPDX-License-Identifier: Apache-2.0
// The live miss-ratio curve: the sampled reuse-distance histogram (SHARDS)
// and the miniature policy simulations, checked against exact answers on
// small synthetic traces, its memory bound, and what status makes of it.
#include "wtcachefs/miss_ratio_curve.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <random>

#include "mrc/reuse_distance_sampler.h"
#include "policy/policy_cache.h"
#include "sim/mrc_check.h"
#include "sim/simulator.h"
#include "sim/traces.h"
#include "support/temp_dir.h"
#include "wtcachefs/mrc_report.h"

namespace wtcachefs {
namespace {

BlockKey B(uint64_t block) { return BlockKey{0, block}; }

// Bytes malloc has handed out, large blocks (mmapped) included.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// A sampler that samples every block and keeps every distance exactly.
ReuseDistanceSampler ExactSampler(size_t blocks) {
  return ReuseDistanceSampler(1.0, blocks, 1.0, blocks);
}

void Replay(ReuseDistanceSampler& sampler, const sim::Trace& trace) {
  for (const uint64_t block : trace) {
    const uint64_t hash = SampleHashOf(B(block));
    ASSERT_TRUE(sampler.Sampled(hash));
    sampler.Access(hash, B(block), /*counted=*/true);
  }
}

TEST(ReuseDistanceSampler, AtRateOneItsCurveIsTheExactLruCurve) {
  const sim::Trace trace = sim::ZipfTrace(400, 0.9, 20000, 7);
  ReuseDistanceSampler sampler = ExactSampler(1000);
  Replay(sampler, trace);
  for (const uint64_t size : {1, 10, 50, 100, 200, 399, 400}) {
    const double exact = sim::SimulatePolicy(trace, size, PolicyKind::kLru).hit_ratio();
    EXPECT_NEAR(sampler.HitRatio(static_cast<double>(size), trace.size()), exact, 1e-12)
        << "cache of " << size << " blocks";
  }
}

TEST(ReuseDistanceSampler, ALoopMissesBelowItsLengthAndHitsFromIt) {
  const sim::Trace trace = sim::LoopTrace(100, 1000);
  ReuseDistanceSampler sampler = ExactSampler(200);
  Replay(sampler, trace);
  EXPECT_EQ(sampler.HitRatio(99, trace.size()), 0.0);
  EXPECT_DOUBLE_EQ(sampler.HitRatio(100, trace.size()), 0.9);  // all but the first pass
  ASSERT_TRUE(sampler.FlatFrom(trace.size(), 0.01).has_value());
  EXPECT_DOUBLE_EQ(*sampler.FlatFrom(trace.size(), 0.01), 100.0) << "the working set";
}

TEST(ReuseDistanceSampler, AWriteMakesItsBlockRecentButIsNotARead) {
  ReuseDistanceSampler sampler = ExactSampler(10);
  const auto access = [&](uint64_t block, bool read) {
    sampler.Access(SampleHashOf(B(block)), B(block), read);
  };
  access(1, true);   // cold
  access(2, true);   // cold
  access(1, false);  // a write: 1 is the most recent again
  access(2, true);   // one block (1) since: hits a cache of 2, not of 1
  EXPECT_DOUBLE_EQ(sampler.HitRatio(1, 3), 0.0);
  EXPECT_DOUBLE_EQ(sampler.HitRatio(2, 3), 1.0 / 3);
}

TEST(ReuseDistanceSampler, AFixedSizeSampleKeepsItsBoundAndEstimatesTheCurve) {
  const sim::Trace trace = sim::ZipfTrace(50000, 1.0, 400000, 3);
  ReuseDistanceSampler sampler(1.0, 2048, 100, 2000);
  for (const uint64_t block : trace) {
    const uint64_t hash = SampleHashOf(B(block));
    if (sampler.Sampled(hash)) sampler.Access(hash, B(block), true);
    ASSERT_LE(sampler.sampled_blocks(), 2048u);
  }
  EXPECT_LT(sampler.rate(), 0.1) << "the rate fell as the working set outgrew the sample";
  for (const uint64_t size : {1000, 5000, 20000}) {
    const double exact = sim::SimulatePolicy(trace, size, PolicyKind::kLru).hit_ratio();
    EXPECT_NEAR(sampler.HitRatio(static_cast<double>(size), trace.size()), exact, 0.02)
        << "cache of " << size << " blocks";
  }
}

TEST(SampleHash, SamplesTheShareOfBlocksItsRateSays) {
  uint64_t below = 0;
  constexpr uint64_t kBlocks = 200000;
  for (uint64_t object = 0; object < 4; ++object) {
    for (uint64_t block = 0; block < kBlocks / 4; ++block) {
      below += SampleHashOf(BlockKey{object, block}) < kSampleHashScale / 10 ? 1 : 0;
    }
  }
  EXPECT_NEAR(static_cast<double>(below) / kBlocks, 0.1, 0.005);
}

MissRatioCurve::Config CurveConfig(PolicyKind policy, uint64_t cache_blocks) {
  MissRatioCurve::Config config;
  config.policy = policy;
  config.cache_blocks = cache_blocks;
  config.block_size = 4096;
  return config;
}

TEST(MissRatioCurve, ForASmallCacheItsSimulationsAreTheSimulatorsExactCurve) {
  const sim::Trace trace = sim::VmMixTrace(300, 50000, 5);
  for (const PolicyKind policy : {PolicyKind::kLru, PolicyKind::kTwoQueue, PolicyKind::kArc}) {
    MissRatioCurve curve(CurveConfig(policy, 200));
    for (const uint64_t block : trace) curve.OnRead(B(block), false, true);
    const MrcSnapshot s = curve.Snapshot();
    EXPECT_EQ(s.simulation_rate, 1.0);
    ASSERT_EQ(s.points.size(), std::size(kMrcScales));
    for (const MrcPoint& p : s.points) {
      EXPECT_DOUBLE_EQ(p.hit_ratio, sim::SimulatePolicy(trace, p.cache_blocks, policy).hit_ratio())
          << PolicyName(policy) << " at " << p.cache_blocks << " blocks";
    }
  }
}

TEST(MissRatioCurve, SampledEstimatesStayWithinTwoPointsOfTheExactCurve) {
  // 5,000 blocks: the simulations sample 41% of the blocks, the histogram less.
  for (const sim::NamedTrace& named : sim::StandardTraces(5000, 200000, 11)) {
    for (const PolicyKind policy : {PolicyKind::kLru, PolicyKind::kArc}) {
      const sim::MrcCheck check = sim::CheckMrc(named.trace, 5000, policy);
      EXPECT_LE(check.mean_absolute_error(), 0.02) << named.name << " " << PolicyName(policy);
      EXPECT_LE(check.lru_mean_absolute_error(), 0.02) << named.name;
    }
  }
}

TEST(MissRatioCurve, ItsMemoryStaysUnderFourMibWhateverTheCacheAndTheWorkingSet) {
  const size_t heap_before = HeapInUse();
  {
    // A cache whose simulations sample one block in eight, and a working set
    // that fills every simulation and the reuse-distance sample.
    MissRatioCurve curve(CurveConfig(PolicyKind::kArc, 16384));
    std::mt19937_64 rng(1);
    for (int i = 0; i < 4000000; ++i) curve.OnRead(B(rng() % 2000000), false, true);
    const MrcSnapshot s = curve.Snapshot();
    const size_t heap = HeapInUse() - heap_before;
    EXPECT_LE(s.memory_bytes, 4u << 20);
    EXPECT_LE(heap, 4u << 20) << "heap in use, as malloc counts it";
    EXPECT_LE(s.sampled_blocks, 4096u);
    EXPECT_LE(static_cast<double>(heap), 1.5 * static_cast<double>(s.memory_bytes))
        << "memory_bytes misses what the curve holds";
  }
}

TEST(MissRatioCurve, CountsTheMountsOwnHitsAndStartsAgainOnReset) {
  MissRatioCurve curve(CurveConfig(PolicyKind::kLru, 16));
  for (uint64_t i = 0; i < 100; ++i) curve.OnRead(B(i % 4), i % 4 == 0, true);
  MrcSnapshot s = curve.Snapshot();
  EXPECT_EQ(s.reads, 100u);
  EXPECT_DOUBLE_EQ(s.measured_hit_ratio(), 0.25);
  EXPECT_GT(s.current().hit_ratio, 0.9);
  curve.Reset();
  s = curve.Snapshot();
  EXPECT_EQ(s.reads, 0u);
  EXPECT_EQ(s.current().hit_ratio, 0.0);
  EXPECT_EQ(s.sampled_blocks, 0u);
}

TEST(MissRatioCurve, TurnedOffItMeasuresNothingAndSaysHowToTurnItOn) {
  MissRatioCurve::Config config = CurveConfig(PolicyKind::kArc, 16);
  config.enabled = false;
  MissRatioCurve curve(config);
  for (uint64_t i = 0; i < 100; ++i) curve.OnRead(B(i % 4), true, true);
  const MrcSnapshot s = curve.Snapshot();
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.reads, 0u);
  EXPECT_TRUE(s.points.empty());
  EXPECT_NE(RenderMrcTable(s).find("-o mrc=off"), std::string::npos) << RenderMrcTable(s);
  EXPECT_EQ(MrcAdvice(s), "");
}

TEST(MissRatioCurve, ReadsPastTheSequentialCutoffAreNotPromoted) {
  MissRatioCurve curve(CurveConfig(PolicyKind::kLru, 16));
  for (int pass = 0; pass < 3; ++pass) {
    for (uint64_t i = 0; i < 4; ++i) curve.OnRead(B(i), false, /*admit=*/false);
  }
  EXPECT_EQ(curve.Snapshot().current().hit_ratio, 0.0);
  for (uint64_t i = 0; i < 4; ++i) curve.OnWrite(B(i), /*allocate=*/true);
  for (uint64_t i = 0; i < 4; ++i) curve.OnRead(B(i), false, false);
  EXPECT_GT(curve.Snapshot().current().hit_ratio, 0.0) << "written blocks were allocated";
}

TEST(TraceFiles, WritesRoundTripAndCacheTheirBlocksWithoutCountingAsReads) {
  const sim::Trace trace = {1, 2 | sim::kTraceWrite, 2, 1, 3 | sim::kTraceWrite, 3};
  testing::TempDir dir;
  const std::string path = dir.Sub("trace", /*create=*/false);
  ASSERT_TRUE(sim::WriteTrace(trace, path).ok());
  const auto read = sim::ReadTrace(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read.value(), trace);
  const sim::SimResult lru = sim::SimulatePolicy(trace, 2, PolicyKind::kLru);
  EXPECT_EQ(lru.accesses, 4u) << "writes counted as reads";
  EXPECT_EQ(lru.hits, 3u) << "the written blocks 2 and 3 were not cached";
  testing::WriteFile(path, "7\nw -1\n");
  EXPECT_FALSE(sim::ReadTrace(path).ok()) << "a negative block number was taken";
}

MrcSnapshot SnapshotWith(std::vector<double> ratios) {
  MrcSnapshot s;
  s.policy = PolicyKind::kArc;
  s.block_size = 1 << 20;
  s.cache_blocks = 1024;  // 1 GiB
  s.reads = s.sampled_reads = 100000;
  for (size_t i = 0; i < ratios.size(); ++i) {
    s.points.push_back(MrcPoint{static_cast<uint64_t>(kMrcScales[i] * 1024), ratios[i], 0});
  }
  return s;
}

TEST(MrcReport, StatusAdvisesTheSmallestSizeNearTheBestWhenItGainsMoreThanTenPoints) {
  EXPECT_EQ(MrcAdvice(SnapshotWith({0.3, 0.4, 0.52, 0.7, 0.81, 0.82})),
            "a cache of 4.0 GiB would have served 81% of reads instead of 52%");
  EXPECT_EQ(MrcAdvice(SnapshotWith({0.3, 0.4, 0.52, 0.55, 0.58, 0.6})), "")
      << "eight points is not worth a word";
  MrcSnapshot few = SnapshotWith({0.3, 0.4, 0.52, 0.7, 0.81, 0.82});
  few.sampled_reads = 10;
  EXPECT_EQ(MrcAdvice(few), "") << "advice from ten reads";
}

TEST(MrcReport, JsonHoldsEveryPointInBytes) {
  const std::string json = RenderMrcJson(SnapshotWith({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}));
  EXPECT_NE(json.find("\"policy\":\"arc\""), std::string::npos) << json;
  EXPECT_NE(json.find("{\"cache_bytes\":268435456,\"hit_ratio\":0.1000"), std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"cache_bytes\":8589934592,\"hit_ratio\":0.6000"), std::string::npos)
      << json;
}

}  // namespace
}  // namespace wtcachefs
