// SPDX-License-Identifier: Apache-2.0
// The live miss-ratio curve on a real mount: a workload whose working set is
// known (a 64 MiB file read uniformly through a 16 MiB cache) is predicted at
// every size, agrees with what the mount counts, and reaches every place a
// user reads it: status --mrc, --mrc --json, the plain status's advice,
// Prometheus; tune mrc=reset starts it again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kBlock = 64 << 10;
constexpr size_t kFileBlocks = 1024;  // 64 MiB
constexpr uint64_t kCacheBytes = 16 << 20;

// A number after `"key":` in `json`, searched from `from`; NaN when absent.
double JsonNumber(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

// The predicted hit ratio of the point for a cache of `bytes`.
double PointHitRatio(const std::string& json, uint64_t bytes) {
  const size_t at = json.find("{\"cache_bytes\":" + std::to_string(bytes) + ",");
  if (at == std::string::npos) return std::nan("");
  return JsonNumber(json, "hit_ratio", at);
}

CommandResult Wtcachefs(std::vector<std::string> args) {
  args.insert(args.begin(), WtcachefsBinary());
  return RunCommand(args);
}

class MissRatioCurveMount : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<MountedView>(std::vector<std::string>{"-o", "cache_size=16M"});
    ASSERT_TRUE(mount_->ok()) << mount_->failure();
    WriteFile(mount_->OriginPath("disk"), std::string(kFileBlocks * kBlock, 'd'));
  }

  // `reads` O_DIRECT reads of 4 KiB at the start of blocks drawn uniformly:
  // each read is one block access the daemon serves.
  void ReadUniformly(int reads) {
    const int fd = ::open(mount_->ViewPath("disk").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    void* buffer = nullptr;
    ASSERT_EQ(::posix_memalign(&buffer, 4096, 4096), 0);
    std::mt19937_64 rng(42);
    for (int i = 0; i < reads; ++i) {
      const off_t offset = static_cast<off_t>((rng() % kFileBlocks) * kBlock);
      ASSERT_EQ(::pread(fd, buffer, 4096, offset), 4096) << std::strerror(errno);
    }
    std::free(buffer);
    ::close(fd);
  }

  std::string Status(std::vector<std::string> format) {
    format.insert(format.begin(), {"status", mount_->view()});
    const CommandResult r = Wtcachefs(format);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::unique_ptr<MountedView> mount_;
};

TEST_F(MissRatioCurveMount, AFileFourTimesTheCacheReadUniformlyIsPredictedAtEverySize) {
  ReadUniformly(20000);
  const std::string json = Status({"--mrc", "--json"});
  EXPECT_EQ(JsonNumber(json, "reads"), 20000) << json;
  EXPECT_EQ(JsonNumber(json, "sampling_rate"), 1) << "a cache of 256 blocks is simulated whole";
  EXPECT_LE(JsonNumber(json, "memory_bytes"), 4 << 20) << json;
  // A quarter of the file fits: a quarter of the reads hit, under any policy.
  const double at_1x = PointHitRatio(json, kCacheBytes);
  EXPECT_NEAR(at_1x, 0.25, 0.04) << json;
  EXPECT_NEAR(PointHitRatio(json, kCacheBytes / 4), 0.0625, 0.03) << json;
  // The whole file fits: all but the first read of each block hit.
  EXPECT_GT(PointHitRatio(json, 4 * kCacheBytes), 0.9) << json;
  EXPECT_GT(PointHitRatio(json, 8 * kCacheBytes), 0.9) << json;
  EXPECT_NEAR(JsonNumber(json, "measured_hit_ratio"), at_1x, 0.03)
      << "the prediction at the cache's own size is not what the mount served: " << json;
  // Where a larger cache gains less than a point: within 3% of the file.
  EXPECT_NEAR(JsonNumber(json, "working_set_bytes"), kFileBlocks * kBlock,
              0.03 * kFileBlocks * kBlock)
      << json;

  const std::string table = Status({"--mrc"});
  EXPECT_NE(table.find("16.0 MiB"), std::string::npos) << table;
  EXPECT_NE(table.find("<- this cache"), std::string::npos) << table;
  EXPECT_NE(table.find("working set     about 6"), std::string::npos) << table;

  const std::string plain = Status({});
  EXPECT_NE(plain.find("a cache of 64.0 MiB would have served"), std::string::npos) << plain;

  const std::string prometheus = Status({"--prometheus"});
  EXPECT_NE(prometheus.find("wtcachefs_mrc_hit_ratio{view=\""), std::string::npos) << prometheus;
  EXPECT_NE(prometheus.find(",cache_bytes=\"67108864\"} 0.9"), std::string::npos) << prometheus;

  const CommandResult reset = Wtcachefs({"tune", mount_->view(), "mrc=reset"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  const std::string after = Status({"--mrc", "--json"});
  EXPECT_EQ(JsonNumber(after, "reads"), 0) << after;
  EXPECT_EQ(PointHitRatio(after, 4 * kCacheBytes), 0) << after;
}

TEST_F(MissRatioCurveMount, BlocksReadByWarmAreCachedInTheCurveButAreNotReads) {
  WriteFile(mount_->OriginPath("small"), std::string(8 * kBlock, 's'));
  const CommandResult warm = Wtcachefs({"warm", mount_->ViewPath("small")});
  ASSERT_EQ(warm.exit_code, 0) << warm.err;
  std::string json = Status({"--mrc", "--json"});
  EXPECT_EQ(JsonNumber(json, "reads"), 0) << "warming counted as the workload's reads: " << json;
  // Read once, the warmed blocks are hits to the curve as to the cache.
  const int fd = ::open(mount_->ViewPath("small").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, kBlock), 0);
  for (size_t block = 0; block < 8; ++block) {
    EXPECT_EQ(::pread(fd, buffer, kBlock, static_cast<off_t>(block * kBlock)),
              static_cast<ssize_t>(kBlock));
  }
  std::free(buffer);
  ::close(fd);
  json = Status({"--mrc", "--json"});
  EXPECT_EQ(JsonNumber(json, "reads"), 8) << json;
  EXPECT_EQ(JsonNumber(json, "measured_hit_ratio"), 1) << json;
  EXPECT_EQ(PointHitRatio(json, kCacheBytes), 1) << json;
}

TEST(MissRatioCurveOff, AViewMountedWithMrcOffSaysSoInStatus) {
  MountedView mount({"-o", "cache_size=16M,mrc=off"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const CommandResult r = Wtcachefs({"status", mount.view(), "--mrc"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("the miss-ratio curve is off"), std::string::npos) << r.out;
  const CommandResult bad = Wtcachefs({"status", mount.view(), "--line"});
  EXPECT_NE(bad.out.find(" mrc=off"), std::string::npos) << bad.out;
}

TEST_F(MissRatioCurveMount, TuneRefusesAnythingButResetForTheCurve) {
  const CommandResult r = Wtcachefs({"tune", mount_->view(), "mrc=off"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("mrc=reset"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wtcachefs::testing
