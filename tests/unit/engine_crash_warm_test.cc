// SPDX-License-Identifier: Apache-2.0
// A killed engine comes back warm for the files it was writing (DESIGN W4):
// the blocks in regions the intent log names are compared with origin at the
// file's first open and kept where they still equal it, the others are kept as
// they are, and origin's change by the crashed daemon's own writes is taken as
// such while it falls within the write lease. A change behind the mount after
// the lease, or while the engine was shut down cleanly, still drops the file
// (W6).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "support/crash_child.h"
#include "support/engine_test_config.h"
#include "support/fault_injecting_backend.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::DieNow;
using testing::kRootCaller;
using testing::ReadFile;
using testing::RunAndKill;
using testing::TempDir;
using testing::WriteFile;

// 4 KiB blocks: an intent region (256 blocks) is 1 MiB.
constexpr uint32_t kBlock = 4096;
constexpr size_t kRegion = 256 * kBlock;
constexpr size_t kFileSize = 3 * kRegion;
constexpr auto kLease = std::chrono::milliseconds(400);

std::string Pattern(size_t length, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(length, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

class EngineCrashWarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = MakeUringBackend();
    if (!io.ok()) GTEST_SKIP() << io.status().message();
    io_ = std::move(io).value();
    WriteFile(Origin("image"), Pattern(kFileSize, 1));
  }

  CacheConfig Config() {
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 1024);
    config.flush_interval_ms = 50;
    config.write_lease = lease_;
    return config;
  }

  // Waits up to 10 s for the comparison with origin of what the crash left in
  // doubt to have kept `blocks` blocks.
  static bool WaitForRecovered(CacheEngine& engine, uint64_t blocks) {
    for (int i = 0; i < 1000 && engine.stats().recovered_blocks < blocks; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return engine.stats().recovered_blocks == blocks;
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }

  // In a child: warms the whole file, lets a group commit make it durable,
  // writes one block of the first region through the engine and dies at once,
  // before a group commit records origin's new attributes.
  void WarmWriteAndCrash() {
    RunAndKill([&] {
      auto io = MakeUringBackend();
      auto engine = CacheEngine::Start(Config(), *io.value());
      if (!engine.ok()) ::_exit(2);
      auto file = testing::OpenThrough(*engine.value(), Origin("image"));
      if (!file || testing::ReadThrough(*file, 0, kFileSize).size() != kFileSize) ::_exit(3);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // group commits
      const std::string update = Pattern(kBlock, 2);
      if (!file->Write(kBlock, update, kRootCaller).ok()) ::_exit(4);
      DieNow();
    });
  }

  std::unique_ptr<CacheEngine> Restart() {
    auto engine = CacheEngine::Start(Config(), *io_);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> io_;
  std::chrono::milliseconds lease_ = kLease;
};

TEST_F(EngineCrashWarmTest, AFileBeingWrittenKeepsEveryBlockTheIntentLogDoesNotName) {
  WarmWriteAndCrash();
  auto engine = Restart();
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->stats().used_blocks, 2 * kRegion / kBlock) << "the named region only goes";
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  const std::string origin = ReadFile(Origin("image"));
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, kRegion, 2 * kRegion), origin.substr(kRegion));
  EXPECT_EQ(engine->stats().bytes_read_from_cache - from_cache, 2 * kRegion)
      << "the regions nobody wrote came back cold";
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), origin);
}

TEST_F(EngineCrashWarmTest, BlocksTheIntentLogNamesAreKeptWhereTheyStillEqualOrigin) {
  WarmWriteAndCrash();
  auto engine = Restart();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  // The written block too: its write reached origin and cache before the crash.
  ASSERT_TRUE(WaitForRecovered(*engine, kRegion / kBlock));
  EXPECT_EQ(engine->stats().used_blocks, kFileSize / kBlock);
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), ReadFile(Origin("image")));
  EXPECT_EQ(engine->stats().bytes_read_from_cache - from_cache, kFileSize);
}

// What origin holds is the truth: a block of a named region that differs from
// it (a write that reached origin and not the cache, or the converse) goes.
TEST_F(EngineCrashWarmTest, ABlockTheIntentLogNamesIsDroppedWhereOriginDiffersFromIt) {
  lease_ = std::chrono::milliseconds(10000);  // the change below falls within it
  WarmWriteAndCrash();
  const std::string changed = Pattern(kBlock, 7);
  {
    const int fd = ::open(Origin("image").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, changed.data(), changed.size(), 7 * kBlock),
              static_cast<ssize_t>(changed.size()));
    ::close(fd);
  }
  auto engine = Restart();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  ASSERT_TRUE(WaitForRecovered(*engine, kRegion / kBlock - 1));
  EXPECT_EQ(engine->stats().used_blocks, kFileSize / kBlock - 1);
  EXPECT_EQ(testing::ReadThrough(*file, 7 * kBlock, kBlock), changed);
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), ReadFile(Origin("image")));
}

// A write made while the engine is degraded marks no intent (the cache is not
// written). A crash before the next group commit leaves the mapping of a block
// it changed durable; the crashed daemon's lease must not make that change
// its own, or the block, in a region no intent names, would be served stale.
TEST_F(EngineCrashWarmTest, AWriteMadeWhileDegradedIsNeverTakenForTheCrashedDaemonsOwn) {
  lease_ = std::chrono::milliseconds(10000);
  const uint64_t degraded_block = 2 * kRegion / kBlock + 9;  // in the third region
  const std::string update = Pattern(kBlock, 9);
  testing::RunAndKill([&] {
    auto real = MakeUringBackend();
    testing::FaultInjectingBackend faults(*real.value());
    CacheConfig config = Config();
    config.error_limit = 1;
    auto engine = CacheEngine::Start(config, faults);
    if (!engine.ok()) ::_exit(2);
    auto file = testing::OpenThrough(*engine.value(), Origin("image"));
    if (!file || testing::ReadThrough(*file, 0, kFileSize).size() != kFileSize) ::_exit(3);
    // The first region is marked by a write; group commits make it all durable.
    if (!file->Write(kBlock, Pattern(kBlock, 10), testing::kRootCaller).ok()) ::_exit(4);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // From here no group commit completes: the next one waits on its sync.
    const int slot_fd = engine.value()->slot_fd();
    faults.HoldCompletionWhen([slot_fd](const IoRequest& r) {
      return r.fd == slot_fd && r.op == IoRequest::Op::kFdatasync;
    });
    // A failed cache write degrades the engine (error_limit 1).
    faults.FailWhen(
        [slot_fd](const IoRequest& r) { return r.fd == slot_fd && r.op == IoRequest::Op::kWrite; },
        EIO);
    if (!file->Write(kRegion + kBlock, Pattern(kBlock, 11), testing::kRootCaller).ok()) {
      ::_exit(5);
    }
    if (!engine.value()->stats().degraded) ::_exit(6);
    if (!file->Write(degraded_block * kBlock, update, testing::kRootCaller).ok()) ::_exit(7);
    testing::DieNow();
  });
  ASSERT_EQ(ReadFile(Origin("image")).substr(degraded_block * kBlock, kBlock), update);
  auto engine = Restart();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  EXPECT_EQ(testing::ReadThrough(*file, degraded_block * kBlock, kBlock), update)
      << "a block the degraded write changed was served stale";
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), ReadFile(Origin("image")));
}

// W6 holds across a crash: a change behind the mount after the lease has
// ended is a change like any other.
TEST_F(EngineCrashWarmTest, AChangeBehindTheMountAfterTheLeaseDropsTheFile) {
  WarmWriteAndCrash();
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  const std::string changed = Pattern(kFileSize, 3);
  WriteFile(Origin("image"), changed);
  auto engine = Restart();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  EXPECT_FALSE(file->page_cache_valid());
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), changed);
  EXPECT_EQ(engine->stats().bytes_read_from_cache, from_cache) << "old bytes served";
  EXPECT_EQ(engine->stats().recovered_blocks, 0u) << "a held block mapped again";
}

// Only the first comparison after the restart may adopt: a change found
// later, even one that falls within the lease, drops the file.
TEST_F(EngineCrashWarmTest, OnlyTheFirstComparisonAfterTheRestartAdoptsAChange) {
  WarmWriteAndCrash();
  auto engine = Restart();
  ASSERT_TRUE(engine);
  {
    auto file = testing::OpenThrough(*engine, Origin("image"));
    ASSERT_TRUE(file);
  }
  const std::string changed = Pattern(kFileSize, 4);
  WriteFile(Origin("image"), changed);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), changed);
  EXPECT_EQ(engine->stats().bytes_read_from_cache, from_cache) << "old bytes served";
}

// A clean shutdown leaves no intent and so no lease to adopt by: a change
// while the cache was not mounted drops the file.
TEST_F(EngineCrashWarmTest, AChangeWhileCleanlyShutDownDropsTheFile) {
  {
    auto engine = Restart();
    ASSERT_TRUE(engine);
    auto file = testing::OpenThrough(*engine, Origin("image"));
    ASSERT_TRUE(file);
    ASSERT_EQ(testing::ReadThrough(*file, 0, kFileSize).size(), kFileSize);
    ASSERT_TRUE(file->Write(kBlock, Pattern(kBlock, 5), kRootCaller).ok());
    file.reset();
    ASSERT_TRUE(engine->Close().ok());
  }
  const std::string changed = Pattern(kFileSize, 6);
  WriteFile(Origin("image"), changed);
  auto engine = Restart();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("image"));
  ASSERT_TRUE(file);
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), changed);
}

}  // namespace
}  // namespace wtcachefs
