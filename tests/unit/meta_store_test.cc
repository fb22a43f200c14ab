// SPDX-License-Identifier: Apache-2.0
// The RocksDB metadata store: what is committed is read back after reopening,
// a synced commit survives the process being killed, damage is reported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "support/temp_dir.h"
#include "wtcachefs/meta_store.h"

namespace wtcachefs {
namespace {

using testing::TempDir;

std::unique_ptr<MetaStore> OpenOrDie(const std::string& dir) {
  auto store = MetaStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status().message();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(MetaStore, NewStoreHasNoSuperblock) {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("meta", false));
  ASSERT_TRUE(store);
  auto sb = store->LoadSuperblock();
  ASSERT_TRUE(sb.ok());
  EXPECT_FALSE(sb.value().has_value());
}

TEST(MetaStore, CommittedRecordsAreReadBackAfterReopen) {
  TempDir dir;
  const std::string path = dir.Sub("meta", false);
  Superblock sb;
  sb.slot_count = 10;
  sb.origin_path = "/origin";
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(store);
    MetaBatch batch;
    batch.PutSuperblock(sb);
    batch.PutFile(FileRecord{1, Fingerprint{1, 2, 3, 4, 5}});
    batch.PutFile(FileRecord{2, Fingerprint{6, 7, 8, 9, 10}});
    for (uint64_t block = 0; block < 300; ++block) {
      batch.PutMapping(BlockMapping{1, block, block + 1000, {0xFF, 0x0F}});
    }
    batch.PutIntent(2, 7);
    batch.PutCounter("read_hits", 41);
    batch.PutDeviceNumber(DeviceNumberRecord{0x2c, 2});
    batch.PutDeviceNumber(DeviceNumberRecord{0x2b, 1});
    ASSERT_TRUE(store->Commit(batch, true).ok());
    MetaBatch second;
    second.DeleteMapping(1, 5);
    second.DeleteFile(2);
    second.PutCounter("read_hits", 42);
    ASSERT_TRUE(store->Commit(second, true).ok());
  }
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store);
  auto loaded = store->LoadSuperblock();
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(*loaded.value(), sb);

  std::vector<FileRecord> files;
  ASSERT_TRUE(store->ForEachFile([&](FileRecord&& r) { files.push_back(r); }).ok());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].object_id, 1u);

  std::vector<uint64_t> blocks;
  ASSERT_TRUE(store->ForEachMapping(16, [&](BlockMapping&& m) {
    EXPECT_EQ(m.slot, m.block + 1000);
    blocks.push_back(m.block);
  }).ok());
  ASSERT_EQ(blocks.size(), 299u);
  EXPECT_TRUE(std::is_sorted(blocks.begin(), blocks.end()));
  EXPECT_EQ(std::count(blocks.begin(), blocks.end(), 5u), 0);

  std::vector<std::pair<uint64_t, uint64_t>> intents;
  ASSERT_TRUE(store->ForEachIntent([&](uint64_t o, uint64_t r) { intents.emplace_back(o, r); }).ok());
  EXPECT_EQ(intents, (std::vector<std::pair<uint64_t, uint64_t>>{{2, 7}}));

  auto counters = store->LoadCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters.value().at("read_hits"), 42u);

  std::vector<DeviceNumberRecord> devices;
  ASSERT_TRUE(
      store->ForEachDeviceNumber([&](DeviceNumberRecord&& r) { devices.push_back(r); }).ok());
  EXPECT_EQ(devices, (std::vector<DeviceNumberRecord>{{0x2b, 1}, {0x2c, 2}}));
}

TEST(MetaStore, SyncedCommitSurvivesTheProcessBeingKilled) {
  TempDir dir;
  const std::string path = dir.Sub("meta", false);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = MetaStore::Open(path);
    if (!store.ok()) ::_exit(2);
    MetaBatch batch;
    batch.PutMapping(BlockMapping{9, 9, 9, {1}});
    if (!store.value()->Commit(batch, true).ok()) ::_exit(3);
    ::kill(::getpid(), SIGKILL);  // no destructor, no flush
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store);
  int found = 0;
  ASSERT_TRUE(store->ForEachMapping(8, [&](BlockMapping&& m) { found += m.slot == 9; }).ok());
  EXPECT_EQ(found, 1);
}

TEST(MetaStore, DamagedRecordIsReportedAsCorruptNotCrash) {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("meta", false));
  ASSERT_TRUE(store);
  MetaBatch batch;
  batch.PutMapping(BlockMapping{1, 1, 1, {1, 2}});  // 16 sectors
  ASSERT_TRUE(store->Commit(batch, false).ok());
  // Read back as if the block size had 64 sectors: the bitmap length is wrong.
  const Status s = store->ForEachMapping(64, [](BlockMapping&&) { FAIL(); });
  EXPECT_EQ(s.error(), EUCLEAN);
}

TEST(MetaStore, DestroyedStoreReopensEmpty) {
  TempDir dir;
  const std::string path = dir.Sub("meta", false);
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(store);
    MetaBatch batch;
    batch.PutCounter("x", 1);
    ASSERT_TRUE(store->Commit(batch, true).ok());
  }
  ASSERT_TRUE(MetaStore::Destroy(path).ok());
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store);
  auto counters = store->LoadCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_TRUE(counters.value().empty());
}

TEST(MetaStore, GarbageInPlaceOfTheDatabaseFailsToOpenWithAMessage) {
  TempDir dir;
  const std::string path = dir.Sub("meta", false);
  { ASSERT_TRUE(OpenOrDie(path)); }
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) {
      testing::WriteFile(entry.path().string(), std::string(4096, '\x5a'));
    }
  }
  auto store = MetaStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace wtcachefs
