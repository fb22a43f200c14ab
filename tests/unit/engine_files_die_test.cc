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

#include "cache_dir/cache_directory.h"
#include "support/crash_child.h"
#include "support/engine_test_config.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/meta_store.h"

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

// Deleted behind the engine, never looked up again: found by the sweep, which
// reopens each record's file by the handle kept with it.
TEST_F(EngineFilesDieTest, AFileDeletedBehindTheEngineIsFoundByTheSweep) {
  WriteFile(Origin("b"), Pattern(kFileSize, 3));
  CacheConfig config = Config();
  config.sweep_interval = std::chrono::milliseconds(10);
  {
    auto engine = CacheEngine::Start(config, *io_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    Cache(*engine.value(), "a");
    Cache(*engine.value(), "b");
    ASSERT_EQ(engine.value()->stats().used_blocks, 2 * kFileSize / kBlock);
    ASSERT_EQ(::unlink(Origin("a").c_str()), 0);
    for (int i = 0; i < 300 && engine.value()->stats().deleted_files == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(engine.value()->stats().deleted_files, 1u);
    EXPECT_EQ(engine.value()->stats().used_blocks, kFileSize / kBlock);
    ASSERT_TRUE(engine.value()->Close().ok());
  }
  auto engine = CacheEngine::Start(config, *io_);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(engine.value()->stats().used_blocks, kFileSize / kBlock);
  const uint64_t from_cache = engine.value()->stats().bytes_read_from_cache;
  Cache(*engine.value(), "b");
  EXPECT_EQ(engine.value()->stats().bytes_read_from_cache - from_cache, kFileSize);
}

// Bookkeeping bounded by the files in use: records leave memory, a mount reads
// none, and every block stays served.
TEST_F(EngineFilesDieTest, RecordsOfFilesNotInUseLeaveMemoryAndTheirBlocksStayServed) {
  constexpr int kFiles = 12;  // 48 of the cache's 64 blocks
  for (int i = 0; i < kFiles; ++i) {
    WriteFile(Origin("f" + std::to_string(i)), Pattern(kFileSize, 10 + i));
  }
  CacheConfig config = Config();
  config.resident_files = 4;
  {
    auto engine = CacheEngine::Start(config, *io_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (int i = 0; i < kFiles; ++i) Cache(*engine.value(), "f" + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // committed
    Cache(*engine.value(), "a");
    Cache(*engine.value(), "a");
    EXPECT_LE(engine.value()->stats().resident_files, 5u);
    const uint64_t from_cache = engine.value()->stats().bytes_read_from_cache;
    for (int i = 0; i < kFiles; ++i) Cache(*engine.value(), "f" + std::to_string(i));
    EXPECT_EQ(engine.value()->stats().bytes_read_from_cache - from_cache, kFiles * kFileSize)
        << "a record read back lost its blocks";
    ASSERT_TRUE(engine.value()->Close().ok());
  }
  auto engine = CacheEngine::Start(config, *io_);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(engine.value()->stats().resident_files, 0u) << "the mount read records";
  const uint64_t from_cache = engine.value()->stats().bytes_read_from_cache;
  for (int i = 0; i < kFiles; ++i) Cache(*engine.value(), "f" + std::to_string(i));
  EXPECT_EQ(engine.value()->stats().bytes_read_from_cache - from_cache, kFiles * kFileSize);
}

// A file opened but never cached gets no record: creating and deleting files
// that are never read or written through the cache writes nothing for them.
TEST_F(EngineFilesDieTest, OnlyFilesWithCachedBlocksGetARecord) {
  {
    auto engine = Start();
    ASSERT_TRUE(engine);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(testing::OpenThrough(*engine, Origin("empty" + std::to_string(i))));
    }
    Cache(*engine, "a");
    ASSERT_TRUE(engine->Close().ok());
  }
  auto store = MetaStore::Open(dir_.Sub("cache", false) + CacheDirectory::kMetaDirName);
  ASSERT_TRUE(store.ok()) << store.status().message();
  int records = 0;
  ASSERT_TRUE(store.value()->ForEachFile([&](FileRecord&&) { ++records; }).ok());
  EXPECT_EQ(records, 1) << "files never cached got records";
}

// Churn never exhausts the ids: a deleted file's id is given again once its
// blocks' unmapping is durable.
TEST_F(EngineFilesDieTest, TheIdsOfDeletedFilesAreGivenAgain) {
  constexpr int kRounds = 20;
  {
    CacheConfig config = Config();
    config.flush_interval_ms = 10;
    auto engine = CacheEngine::Start(config, *io_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (int i = 0; i < kRounds; ++i) {
      WriteFile(Origin("churn"), Pattern(kFileSize, 100 + i));
      Cache(*engine.value(), "churn");
      UnlinkThroughView(*engine.value(), Origin("churn"));
      // Two commits: the record's deletion, then the scan that frees its id.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(engine.value()->stats().deleted_files, static_cast<uint64_t>(kRounds));
    EXPECT_EQ(engine.value()->stats().used_blocks, 0u);
    ASSERT_TRUE(engine.value()->Close().ok());
  }
  auto store = MetaStore::Open(dir_.Sub("cache", false) + CacheDirectory::kMetaDirName);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto next = store.value()->LoadNextObjectId();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next.value());
  EXPECT_LE(*next.value(), 4u) << "every deleted file took a new id";
}

}  // namespace
}  // namespace wtcachefs
