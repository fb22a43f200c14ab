// SPDX-License-Identifier: Apache-2.0
// What `wtcachefs status` prints.
#include <gtest/gtest.h>

#include "wtcachefs/status_report.h"

namespace wtcachefs {
namespace {

StatusSnapshot Sample() {
  StatusSnapshot s;
  s.block_size = 65536;
  s.total.read_hits = 75;
  s.total.read_misses = 25;
  s.total.used_blocks = 12;
  s.total.total_blocks = 1024;
  s.total.index_memory_bytes = 25088;  // 24.5 bytes per slot
  s.total.space_limit_blocks = 1024;
  s.last_hour.read_hits = 9;
  s.last_hour.read_misses = 1;
  s.last_5_min.read_hits = 1;
  return s;
}

TEST(StatusReport, TableShowsWindowedHitRatiosAndCounters) {
  const std::string table = RenderStatusTable(Sample());
  EXPECT_NE(table.find("mode            normal"), std::string::npos) << table;
  EXPECT_NE(table.find("12 used of 1024 (64 KiB each)"), std::string::npos) << table;
  EXPECT_NE(table.find("5 min 100.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("hour 90.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("day -"), std::string::npos) << table;
  EXPECT_NE(table.find("total 75.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("read_hits"), std::string::npos);
}

TEST(StatusReport, TableShowsIndexMemoryPerCachedBlockAndPerSlot) {
  const std::string table = RenderStatusTable(Sample());
  EXPECT_NE(table.find("index memory    24.5 KiB (2090.7 bytes per cached block, 24.5 per slot)\n"),
            std::string::npos)
      << table;

  StatusSnapshot large = Sample();
  large.total.used_blocks = 1'000'000;
  large.total.total_blocks = 1'350'000;
  large.total.index_memory_bytes = 32'500'000;
  EXPECT_NE(RenderStatusTable(large).find(
                "index memory    31.0 MiB (32.5 bytes per cached block, 24.1 per slot)\n"),
            std::string::npos)
      << RenderStatusTable(large);
}

TEST(StatusReport, TableSaysWhenTheFreeSpaceFloorLimitsTheCache) {
  EXPECT_EQ(RenderStatusTable(Sample()).find("limited to"), std::string::npos);
  StatusSnapshot s = Sample();
  s.total.space_limit_blocks = 300;
  const std::string table = RenderStatusTable(s);
  EXPECT_NE(table.find("12 used of 1024 (64 KiB each); limited to 300 by the free-space floor\n"),
            std::string::npos)
      << table;
  EXPECT_NE(RenderStatusLine(s).find(" space_limit_blocks=300 "), std::string::npos);
  EXPECT_NE(RenderStatusJson(s).find("\"space_limit_blocks\":300,"), std::string::npos);
}

TEST(StatusReport, EmptyCacheHasNoIndexMemoryPerCachedBlock) {
  StatusSnapshot s = Sample();
  s.total.used_blocks = 0;
  s.total.index_memory_bytes = 1000;
  const std::string table = RenderStatusTable(s);
  EXPECT_NE(table.find("index memory    1000 bytes (- bytes per cached block, 1.0 per slot)\n"),
            std::string::npos)
      << table;
}

TEST(StatusReport, OneLineHasEveryCounterAsNameEqualsValue) {
  StatusSnapshot s = Sample();
  s.total.degraded = true;
  const std::string line = RenderStatusLine(s);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find("mode=degraded"), std::string::npos);
  EXPECT_NE(line.find(" read_hits=75 "), std::string::npos);
  EXPECT_NE(line.find(" read_misses=25 "), std::string::npos);
  EXPECT_NE(line.find("used_blocks=12 total_blocks=1024 index_memory_bytes=25088 "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("bytes_read_from_origin=0"), std::string::npos);
}

TEST(StatusReport, JsonCarriesTotalsAndWindows) {
  const std::string json = RenderStatusJson(Sample());
  EXPECT_EQ(json.front(), '{');
  EXPECT_NE(json.find("\"mode\":\"normal\""), std::string::npos);
  EXPECT_NE(json.find("\"total\":{\"read_hits\":75,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"last_hour\":{\"read_hits\":9,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"read_hit_ratio\":0.75"), std::string::npos) << json;
  // The index's RAM is a gauge: once, beside the block counts, not in the windows.
  EXPECT_NE(json.find(",\"total_blocks\":1024,\"index_memory_bytes\":25088,\"resident_files\":0,"
                      "\"space_limit_blocks\":1024,\"total\":{"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("index_memory_bytes"), json.rfind("index_memory_bytes")) << json;
  // Balanced braces: a parser would accept the shape.
  EXPECT_EQ(std::count(json.begin(), json.end(), '{'), std::count(json.begin(), json.end(), '}'));
}

}  // namespace
}  // namespace wtcachefs
