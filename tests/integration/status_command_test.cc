// SPDX-License-Identifier: Apache-2.0
// `wtcachefs status VIEW` counts a scripted workload correctly, in every format,
// and its counters persist across remounts.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <sstream>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "cli/exit_codes.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kFileSize = 1 << 20;

// A counter from the "total" object of `wtcachefs status --json`.
uint64_t TotalCounter(const std::string& json, const std::string& name) {
  const size_t total = json.find("\"total\":{");
  const size_t at = json.find("\"" + name + "\":", total);
  if (total == std::string::npos || at == std::string::npos) return ~uint64_t{0};
  return std::strtoull(json.c_str() + at + name.size() + 3, nullptr, 10);
}

// A field of `wtcachefs status --json` outside the counter objects (a gauge).
uint64_t TopLevelField(const std::string& json, const std::string& name) {
  const size_t at = json.find("\"" + name + "\":");
  if (at == std::string::npos || at > json.find("\"total\":{")) return ~uint64_t{0};
  return std::strtoull(json.c_str() + at + name.size() + 3, nullptr, 10);
}

std::string Status(const MountedView& mount, const std::string& format = "--json") {
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", mount.view(), format});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Reads the whole file past the kernel's page cache, so every byte is a
// request to the daemon.
void ReadDirect(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(fd, 0);
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, kFileSize), 0);
  size_t total = 0;
  ssize_t n;
  while ((n = ::pread(fd, buffer, kFileSize, static_cast<off_t>(total))) > 0) total += n;
  std::free(buffer);
  ::close(fd);
  ASSERT_EQ(total, kFileSize);
}

TEST(StatusCommand, ReadingAFileTwiceCountsMissesThenHits) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.OriginPath("f"), std::string(kFileSize, 'x'));

  ReadDirect(mount.ViewPath("f"));
  std::string json = Status(mount);
  EXPECT_GT(TotalCounter(json, "read_misses"), 0u) << json;
  EXPECT_EQ(TotalCounter(json, "read_hits"), 0u) << json;
  EXPECT_EQ(TotalCounter(json, "promotions"), kFileSize / (64 * 1024)) << json;
  EXPECT_EQ(TotalCounter(json, "bytes_read_from_origin"), kFileSize) << json;
  const uint64_t misses = TotalCounter(json, "read_misses");

  ReadDirect(mount.ViewPath("f"));
  json = Status(mount);
  EXPECT_EQ(TotalCounter(json, "read_misses"), misses) << json;
  EXPECT_EQ(TotalCounter(json, "read_hits"), misses) << "same requests, all hits now: " << json;
  EXPECT_EQ(TotalCounter(json, "bytes_read_from_cache"), kFileSize) << json;

  // The block index's RAM: allocated for every slot of the 64 MiB cache (1,024
  // blocks of 64 KiB), within the per-block figures wtcachefs(8) sizes with.
  const uint64_t slots = TopLevelField(json, "total_blocks");
  const uint64_t index_memory = TopLevelField(json, "index_memory_bytes");
  EXPECT_EQ(slots, 1024u) << json;
  EXPECT_GT(index_memory, 0u) << json;
  EXPECT_GE(index_memory, 16 * slots) << json;
  EXPECT_LE(index_memory, 64 * slots) << json;

  const std::string line = Status(mount, "--line");
  EXPECT_NE(line.find("used_blocks=16 "), std::string::npos) << line;
  EXPECT_NE(line.find(" index_memory_bytes="), std::string::npos) << line;
  const std::string table = RunCommand({WtcachefsBinary(), "status", mount.view()}).out;
  EXPECT_NE(table.find("total 50.0%"), std::string::npos) << table;
  // "index memory    30.1 KiB (1926.5 bytes per cached block, 30.1 per slot)"
  const size_t index_line = table.find("\nindex memory    ");
  ASSERT_NE(index_line, std::string::npos) << table;
  const size_t paren = table.find(" (", index_line);
  const size_t comma = table.find(" bytes per cached block, ", index_line);
  ASSERT_NE(paren, std::string::npos) << table;
  ASSERT_NE(comma, std::string::npos) << table;
  const double per_block = std::strtod(table.c_str() + paren + 2, nullptr);
  const double per_slot =
      std::strtod(table.c_str() + comma + std::strlen(" bytes per cached block, "), nullptr);
  EXPECT_NE(table.find(" per slot)\n", comma), std::string::npos) << table;
  EXPECT_GE(per_slot, 16.0) << table;
  EXPECT_LE(per_slot, 64.0) << table;
  EXPECT_NEAR(per_block, per_slot * 1024 / 16, 0.1 * 1024 / 16) << "16 of 1,024 blocks used";

  // Counters persist across a remount.
  ASSERT_TRUE(mount.Unmount());
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  json = Status(mount);
  EXPECT_EQ(TotalCounter(json, "read_hits"), misses) << json;
  EXPECT_EQ(TotalCounter(json, "bytes_read_from_cache"), kFileSize) << json;
  EXPECT_GE(TopLevelField(json, "index_memory_bytes"), 16 * slots) << "a gauge, rebuilt: " << json;
}

TEST(StatusCommand, PrometheusExpositionCountsLikeTheOtherFormats) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.OriginPath("f"), std::string(kFileSize, 'x'));
  ReadDirect(mount.ViewPath("f"));
  ReadDirect(mount.ViewPath("f"));
  const uint64_t hits = TotalCounter(Status(mount), "read_hits");
  const std::string text = Status(mount, "--prometheus");
  const std::string label = "{view=\"" + mount.view() + "\"}";
  EXPECT_NE(text.find("# TYPE wtcachefs_read_hits_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("wtcachefs_read_hits_total" + label + " " + std::to_string(hits) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("wtcachefs_cache_used_blocks" + label + " 16\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("wtcachefs_degraded" + label + " 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE wtcachefs_index_memory_bytes gauge\n"), std::string::npos) << text;
  const size_t index_memory = text.find("\nwtcachefs_index_memory_bytes" + label + " ");
  ASSERT_NE(index_memory, std::string::npos) << text;
  EXPECT_GT(std::strtoull(text.c_str() + index_memory + 1 +
                              std::string("wtcachefs_index_memory_bytes").size() + label.size(),
                          nullptr, 10),
            0u)
      << text;
  // The transport is a label of its own, beside the view's.
  const std::string line = Status(mount, "--line");
  const size_t at = line.find("transport=");
  ASSERT_NE(at, std::string::npos) << line;
  const std::string name = line.substr(at + 10, line.find(' ', at) - at - 10);
  EXPECT_TRUE(name == "io_uring" || name == "dev_fuse") << line;
  const std::string transport = "wtcachefs_transport_info{view=\"" + mount.view() +
                                "\",transport=\"" + name + "\"} 1\n";
  EXPECT_NE(text.find(transport), std::string::npos) << text;
  // Every line is a comment or "name{labels} value" (the exposition grammar),
  // its labels the view's first.
  const std::string first_label = "{view=\"" + mount.view() + "\"";
  std::istringstream lines(text);
  std::string one;
  int samples = 0;
  while (std::getline(lines, one)) {
    if (one.starts_with("# HELP ") || one.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(one.starts_with("wtcachefs_")) << one;
    EXPECT_NE(one.find(first_label), std::string::npos) << one;
    EXPECT_NE(one.find("} "), std::string::npos) << one;
    ++samples;
  }
  EXPECT_GE(samples, 18);
}

TEST(StatusCommand, WatchPrintsAReportEveryInterval) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", mount.view(), "--line",
                                      "--watch", "--interval", "0.05", "--count", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  size_t reports = 0;
  for (size_t at = r.out.find("mode=normal"); at != std::string::npos;
       at = r.out.find("mode=normal", at + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 3u) << r.out;
  EXPECT_NE(r.out.find("wtcachefs status " + mount.view() + " at "), std::string::npos) << r.out;
}

TEST(StatusCommand, NonViewIsRefusedClearly) {
  TempDir dir;
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", dir.path()});
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("not the mount point of a wtcachefs view"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace wtcachefs::testing
