// SPDX-License-Identifier: Apache-2.0
// DESIGN W8, files die: when origin's last link to a file goes through the
// view (CacheEngine::Unlinked), its blocks are unmapped and its record
// deleted, at once or at the release of its last open file; another link
// keeps them; a crash before the commit serves nothing stale.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "support/crash_child.h"
#include "support/engine_test_config.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr uint32_t kBlock = 4096;
constexpr size_t kFileSize = 4 * kBlock;

std::string Pattern(size_t length, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(length, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

class EngineFilesDieTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = MakeUringBackend();
    if (!io.ok()) GTEST_SKIP() << io.status().message();
    io_ = std::move(io).value();
    WriteFile(Origin("a"), Pattern(kFileSize, 1));
  }

  CacheConfig Config() {
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 64);
    config.flush_interval_ms = 50;
    return config;
  }

  std::unique_ptr<CacheEngine> Start() {
    auto engine = CacheEngine::Start(Config(), *io_);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }

  // Reads the whole file through `engine` (every block is cached).
  void Cache(CacheEngine& engine, const std::string& name) {
    auto file = testing::OpenThrough(engine, Origin(name));
    ASSERT_TRUE(file);
    ASSERT_EQ(testing::ReadThrough(*file, 0, kFileSize), ReadFile(Origin(name)));
  }

  // Unlinks `name` on origin as the view does: as a change of its own (its
  // ctime moves), through an O_PATH descriptor kept across the unlink, which
  // the engine is then told of.
  static void UnlinkThroughView(CacheEngine& engine, const std::string& path) {
    const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(engine.ChangeAttributes(fd, [&] { return ::unlink(path.c_str()) == 0 ? 0 : errno; }),
              0);
    engine.Unlinked(fd);
    ::close(fd);
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> io_;
};

TEST_F(EngineFilesDieTest, AFileUnlinkedThroughTheViewGivesBackItsBlocksAndItsRecord) {
  {
    auto engine = Start();
    ASSERT_TRUE(engine);
    Cache(*engine, "a");
    ASSERT_EQ(engine->stats().used_blocks, kFileSize / kBlock);
    UnlinkThroughView(*engine, Origin("a"));
    EXPECT_EQ(engine->stats().used_blocks, 0u);
    ASSERT_TRUE(engine->Close().ok());
  }
  auto engine = Start();
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->stats().used_blocks, 0u) << "the unmapping was not made durable";
}

TEST_F(EngineFilesDieTest, AnOpenFileKeepsItsBlocksUntilItsLastRelease) {
  auto engine = Start();
  ASSERT_TRUE(engine);
  Cache(*engine, "a");
  const std::string content = ReadFile(Origin("a"));
  auto file = testing::OpenThrough(*engine, Origin("a"));
  ASSERT_TRUE(file);
  UnlinkThroughView(*engine, Origin("a"));
  EXPECT_EQ(engine->stats().used_blocks, kFileSize / kBlock);
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), content);
  EXPECT_EQ(engine->stats().bytes_read_from_cache - from_cache, kFileSize);
  file.reset();
  EXPECT_EQ(engine->stats().used_blocks, 0u);
}

TEST_F(EngineFilesDieTest, AFileWithAnotherLinkKeepsItsBlocks) {
  auto engine = Start();
  ASSERT_TRUE(engine);
  Cache(*engine, "a");
  {
    const int fd = ::open(Origin("a").c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(engine->ChangeAttributes(fd, [&] {
      return ::link(Origin("a").c_str(), Origin("b").c_str()) == 0 ? 0 : errno;
    }),
              0);
    ::close(fd);
  }
  UnlinkThroughView(*engine, Origin("a"));
  EXPECT_EQ(engine->stats().used_blocks, kFileSize / kBlock);
  auto file = testing::OpenThrough(*engine, Origin("b"));
  ASSERT_TRUE(file);
  const uint64_t from_cache = engine->stats().bytes_read_from_cache;
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), ReadFile(Origin("b")));
  EXPECT_EQ(engine->stats().bytes_read_from_cache - from_cache, kFileSize);
}

// The engine dies after the unlink, before a group commit deletes the record
// and the mappings; a new file, which may get the same inode number, is served
// its own bytes.
TEST_F(EngineFilesDieTest, ACrashBeforeTheCommitServesNothingStale) {
  testing::RunAndKill([&] {
    auto io = MakeUringBackend();
    CacheConfig config = Config();
    config.flush_interval_ms = 60'000;
    auto engine = CacheEngine::Start(config, *io.value());
    if (!engine.ok()) ::_exit(2);
    {
      auto file = testing::OpenThrough(*engine.value(), Origin("a"));
      if (!file || testing::ReadThrough(*file, 0, kFileSize).size() != kFileSize) ::_exit(3);
    }
    // Durable: the record and the mappings.
    if (!engine.value()->Close().ok()) ::_exit(4);
    engine.value().reset();
    auto again = CacheEngine::Start(config, *io.value());
    if (!again.ok()) ::_exit(5);
    UnlinkThroughView(*again.value(), Origin("a"));
    if (again.value()->stats().used_blocks != 0) ::_exit(6);
    testing::DieNow();
  });
  const std::string fresh = Pattern(kFileSize, 2);
  WriteFile(Origin("a"), fresh);
  auto engine = Start();
  ASSERT_TRUE(engine);
  auto file = testing::OpenThrough(*engine, Origin("a"));
  ASSERT_TRUE(file);
  EXPECT_EQ(testing::ReadThrough(*file, 0, kFileSize), fresh);
}

}  // namespace
}  // namespace wtcachefs
