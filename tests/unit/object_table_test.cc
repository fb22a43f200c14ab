// SPDX-License-Identifier: Apache-2.0
// ObjectTable over a real metadata store (DESIGN W8): records leave memory and
// are read back when wanted, a mount reads none of them, the ids of deleted
// files are given again only once verified free, and a store written before
// records were indexed by origin file is indexed once.
#include "engine/object_table.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "wtcachefs/meta_store.h"

namespace wtcachefs {
namespace {

using testing::TempDir;

struct stat StatOf(uint64_t ino, uint64_t size = 4096) {
  struct stat st {};
  st.st_dev = 7;
  st.st_ino = ino;
  st.st_size = static_cast<off_t>(size);
  st.st_mtim.tv_sec = 1'700'000'000;
  st.st_ctim.tv_sec = 1'700'000'000;
  return st;
}

class ObjectTableTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(size_t resident_limit = 4) {
    table_.reset();
    store_.reset();
    auto store = MetaStore::Open(meta_path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    table_ = std::make_unique<ObjectTable>(*store_, resident_limit);
    ASSERT_TRUE(table_->Open().ok());
  }

  // One group commit of the table's changes.
  void Commit() {
    ObjectTable::Changes changes = table_->TakeChanges();
    MetaBatch batch;
    changes.WriteTo(batch);
    ASSERT_TRUE(store_->Commit(batch, /*sync=*/true).ok());
    table_->Committed(std::move(changes));
  }

  // A new object with a record (as once a block of it is cached).
  uint64_t Create(uint64_t ino) {
    auto found = table_->FindOrCreate(StatOf(ino));
    EXPECT_TRUE(found.ok());
    EXPECT_TRUE(found.value().created);
    table_->Record(found.value().object);
    return found.value().object->id;
  }

  TempDir dir_;
  std::string meta_path_ = dir_.Sub("meta", false);
  std::unique_ptr<MetaStore> store_;
  std::unique_ptr<ObjectTable> table_;
};

TEST_F(ObjectTableTest, RecordsOfFilesNotInUseLeaveMemoryAndAreReadBackWhenWanted) {
  std::vector<uint64_t> ids;
  for (uint64_t ino = 1; ino <= 40; ++ino) ids.push_back(Create(ino));
  Commit();
  (void)table_->Find(7, 1000);  // any lookup trims
  (void)table_->Find(7, 1001);
  (void)table_->Find(7, 1002);
  EXPECT_LE(table_->resident(), 4u);
  for (uint64_t ino = 1; ino <= 40; ++ino) {
    auto found = table_->FindOrCreate(StatOf(ino));
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found.value().created) << "record " << ino << " was lost";
    EXPECT_EQ(found.value().object->id, ids[ino - 1]);
    EXPECT_EQ(found.value().object->fingerprint, FingerprintOf(StatOf(ino)));
  }
  EXPECT_LE(table_->resident(), 4u + 16u);
}

TEST_F(ObjectTableTest, AnObjectInUseOrWaitingForACommitStaysResident) {
  auto held = table_->FindOrCreate(StatOf(1));
  ASSERT_TRUE(held.ok());
  for (uint64_t ino = 2; ino <= 30; ++ino) Create(ino);
  EXPECT_EQ(table_->resident(), 30u) << "records not yet committed left memory";
  Commit();
  for (int i = 0; i < 4; ++i) (void)table_->Find(7, 1000);
  EXPECT_LE(table_->resident(), 5u);
  auto again = table_->Find(7, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), held.value().object) << "two objects for one file";
}

TEST_F(ObjectTableTest, AMountReadsNoRecord) {
  for (uint64_t ino = 1; ino <= 40; ++ino) Create(ino);
  Commit();
  Reopen();
  EXPECT_EQ(table_->resident(), 0u);
  auto found = table_->Find(7, 25);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found.value());
  EXPECT_EQ(found.value()->id, 25u);
}

TEST_F(ObjectTableTest, TheIdOfAnErasedObjectIsGivenAgainOnlyOnceVerifiedFree) {
  const uint64_t first = Create(1);
  Commit();
  auto object = table_->Find(7, 1);
  ASSERT_TRUE(object.ok());
  table_->Erase(object.value());
  EXPECT_NE(Create(2), first) << "given again before its deletion was durable";
  Commit();
  EXPECT_NE(Create(3), first) << "given again before an index scan verified it";
  const std::vector<uint64_t> verifying = table_->TakeUnverified();
  ASSERT_EQ(verifying, std::vector<uint64_t>{first});
  Commit();
  table_->FreeVerified(verifying);
  EXPECT_EQ(Create(4), first);
  Commit();
  auto record = store_->LoadFile(first);
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(record.value());
  EXPECT_EQ(record.value()->fingerprint.ino, 4u);
  auto gone = table_->Find(7, 1);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone.value()) << "the erased file's index entry still leads to its old id";
}

TEST_F(ObjectTableTest, AFileErasedAndMadeAgainUnderTheSameNumberGetsANewRecord) {
  const uint64_t first = Create(1);
  Commit();
  auto object = table_->Find(7, 1);
  ASSERT_TRUE(object.ok());
  table_->Erase(object.value());
  auto found = table_->FindOrCreate(StatOf(1, 8192));
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found.value().created) << "the erased record was read back before its deletion";
  table_->Record(found.value().object);
  const uint64_t second = found.value().object->id;
  EXPECT_NE(second, first);
  Commit();
  Reopen();
  auto again = table_->Find(7, 1);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again.value());
  EXPECT_EQ(again.value()->id, second);
  EXPECT_EQ(again.value()->fingerprint.size, 8192u);
}

TEST_F(ObjectTableTest, FreeIdsAndTheNextIdSurviveARestart) {
  for (uint64_t ino = 1; ino <= 3; ++ino) Create(ino);
  Commit();
  auto object = table_->Find(7, 2);
  ASSERT_TRUE(object.ok());
  table_->Erase(object.value());
  Commit();
  Reopen();
  EXPECT_EQ(table_->free_ids(), 1u);
  EXPECT_EQ(Create(10), 2u);
  EXPECT_EQ(Create(11), 4u);
}

TEST_F(ObjectTableTest, AnObjectNeverRecordedIsNeverWrittenAndGivesItsIdBack) {
  std::vector<uint64_t> ids;
  for (uint64_t ino = 1; ino <= 10; ++ino) {
    auto found = table_->FindOrCreate(StatOf(ino));
    ASSERT_TRUE(found.ok());
    ids.push_back(found.value().object->id);
  }
  Commit();
  for (const uint64_t id : ids) {
    auto record = store_->LoadFile(id);
    ASSERT_TRUE(record.ok());
    EXPECT_FALSE(record.value()) << "a file never cached got a record";
  }
  (void)table_->Find(7, 1000);  // trims: six leave memory
  EXPECT_LE(table_->resident(), 4u);
  Commit();
  EXPECT_EQ(table_->free_ids(), 10u - table_->resident());
  auto again = table_->FindOrCreate(StatOf(1));
  ASSERT_TRUE(again.ok());
  EXPECT_LE(again.value().object->id, 10u) << "a free id was not given again";
  Reopen();
  EXPECT_EQ(table_->free_ids(), 6u) << "the ids given back were not kept";
}

TEST_F(ObjectTableTest, AStoreWrittenBeforeTheIndexIsIndexedOnce) {
  // A store no table has opened yet.
  table_.reset();
  meta_path_ = dir_.Sub("older-meta", false);
  auto store = MetaStore::Open(meta_path_);
  ASSERT_TRUE(store.ok());
  store_ = std::move(store).value();
  MetaBatch batch;
  for (uint64_t id = 1; id <= 5; ++id) {
    batch.PutFile(FileRecord{id, FingerprintOf(StatOf(100 + id))});
  }
  ASSERT_TRUE(store_->Commit(batch, true).ok());
  Reopen();
  for (uint64_t id = 1; id <= 5; ++id) {
    auto found = table_->Find(7, 100 + id);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found.value()) << "record " << id << " not indexed";
    EXPECT_EQ(found.value()->id, id);
  }
  EXPECT_EQ(Create(1), 6u);
}

}  // namespace
}  // namespace wtcachefs
