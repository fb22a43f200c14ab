// SPDX-License-Identifier: Apache-2.0
// The engine across restarts: a clean restart comes back warm with its counters;
// a killed engine comes back serving only origin's bytes (DESIGN W4), having
// dropped what the intent log names.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "support/crash_child.h"
#include "support/engine_test_config.h"
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

constexpr uint32_t kBlock = 64 * 1024;

class EnginePersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = MakeUringBackend();
    if (!io.ok()) GTEST_SKIP() << io.status().message();
    io_ = std::move(io).value();
  }

  CacheConfig Config() {
    CacheConfig config = testing::EngineTestConfig(dir_, 0, 256);
    config.cache_bytes = 256 * kBlock;  // block size 0: the default (64 KiB)
    config.flush_interval_ms = 50;
    return config;
  }

  std::unique_ptr<CacheEngine> Start() {
    auto engine = CacheEngine::Start(Config(), *io_);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }

  static std::unique_ptr<OpenFile> Open(CacheEngine& engine, const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    auto file = engine.Open(std::move(fd));
    return file.ok() ? std::move(file).value() : nullptr;
  }

  static std::string Read(OpenFile& file, off_t offset, size_t length) {
    std::string out(length, '\0');
    auto n = file.Read(offset, std::span<char>(out.data(), out.size()));
    out.resize(n.ok() ? n.value() : 0);
    return out;
  }

  static std::string Pattern(size_t length, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(length, '\0');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> io_;
};

TEST_F(EnginePersistenceTest, CleanRestartComesBackWarmWithItsCounters) {
  const std::string data = Pattern(4 * kBlock, 1);
  WriteFile(Origin("f"), data);
  {
    auto engine = Start();
    ASSERT_TRUE(engine);
    auto file = Open(*engine, Origin("f"));
    ASSERT_EQ(Read(*file, 0, data.size()), data);
    file.reset();
    ASSERT_TRUE(engine->Close().ok());
  }
  auto engine = Start();
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->stats().used_blocks, 4u);
  EXPECT_EQ(engine->stats().read_misses, 1u) << "counters must persist across restarts";
  auto file = Open(*engine, Origin("f"));
  EXPECT_TRUE(file->page_cache_valid());
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine->stats().read_hits, 1u);
  EXPECT_EQ(engine->stats().read_misses, 1u);
}

TEST_F(EnginePersistenceTest, FileChangedWhileUnmountedIsNotServedFromTheCache) {
  WriteFile(Origin("f"), Pattern(2 * kBlock, 2));
  {
    auto engine = Start();
    ASSERT_TRUE(engine);
    auto file = Open(*engine, Origin("f"));
    Read(*file, 0, 2 * kBlock);
  }
  const std::string changed = Pattern(2 * kBlock, 3);
  WriteFile(Origin("f"), changed);
  auto engine = Start();
  ASSERT_TRUE(engine);
  auto file = Open(*engine, Origin("f"));
  EXPECT_FALSE(file->page_cache_valid());
  EXPECT_EQ(Read(*file, 0, 2 * kBlock), changed);
}

TEST_F(EnginePersistenceTest, SecondEngineOnTheSameCacheIsRefused) {
  auto first = Start();
  ASSERT_TRUE(first);
  auto second = CacheEngine::Start(Config(), *io_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().error(), EBUSY);
}

TEST_F(EnginePersistenceTest, KilledEngineRecoversWarmForFilesOnlyReadAndDropsWrittenRegions) {
  const std::string read_only = Pattern(4 * kBlock, 4);
  const std::string written = Pattern(4 * kBlock, 5);
  WriteFile(Origin("r"), read_only);
  WriteFile(Origin("w"), written);
  const std::string update = Pattern(kBlock, 6);
  RunAndKill([&] {
    auto io = MakeUringBackend();
    auto engine = CacheEngine::Start(Config(), *io.value());
    if (!engine.ok()) ::_exit(2);
    auto r = Open(*engine.value(), Origin("r"));
    auto w = Open(*engine.value(), Origin("w"));
    Read(*r, 0, read_only.size());
    Read(*w, 0, written.size());
    (void)w->Write(kBlock, std::span<const char>(update.data(), update.size()), kRootCaller);
    // Let the periodic group commit persist the mappings, then die.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    DieNow();
  });
  auto engine = Start();
  ASSERT_TRUE(engine);
  // All 8 blocks were persisted by the group commit; the 4 of "w" lie in a
  // region the intent log names and must have been dropped by recovery.
  EXPECT_EQ(engine->stats().used_blocks, 4u);
  auto r = Open(*engine, Origin("r"));
  auto w = Open(*engine, Origin("w"));
  EXPECT_EQ(Read(*r, 0, read_only.size()), read_only);
  EXPECT_EQ(engine->stats().read_hits, 1u) << "a file only read must come back warm";
  EXPECT_EQ(Read(*w, 0, written.size()), ReadFile(Origin("w")));
}

TEST_F(EnginePersistenceTest, RandomKillPointsNeverServeBytesThatDifferFromOrigin) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const unsigned child_seed = static_cast<unsigned>(rng());
    const int kill_after_ms = static_cast<int>(rng() % 200);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto io = MakeUringBackend();
      auto engine = CacheEngine::Start(Config(), *io.value());
      if (!engine.ok()) ::_exit(2);
      std::mt19937 child_rng(child_seed);
      auto file = Open(*engine.value(), Origin("f"));
      for (;;) {
        const off_t offset = static_cast<off_t>(child_rng() % (16 * kBlock));
        const size_t length = 1 + child_rng() % (2 * kBlock);
        switch (child_rng() % 4) {
          case 0: {
            const std::string data = Pattern(length, static_cast<unsigned>(child_rng()));
            (void)file->Write(offset, std::span<const char>(data.data(), data.size()), kRootCaller);
            break;
          }
          case 1:
            (void)file->Sync(false);
            break;
          default:
            Read(*file, offset, length);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    ::kill(child, SIGKILL);
    int status;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child failed to start: " << WEXITSTATUS(status);

    auto engine = Start();
    ASSERT_TRUE(engine);
    auto file = Open(*engine, Origin("f"));
    const std::string origin = ReadFile(Origin("f"));
    // Twice: the first read may promote, the second is served from the cache.
    ASSERT_EQ(Read(*file, 0, origin.size() + 1), origin);
    ASSERT_EQ(Read(*file, 0, origin.size() + 1), origin);
  }
}

}  // namespace
}  // namespace wtcachefs
