// SPDX-License-Identifier: Apache-2.0
// The view's inode numbers (fuse/view_inode_numbers.h): origin's own on ORIGIN
// root's file system, a device space that is injective by construction for the
// others, a hashed space disjoint from both; the device table is recorded
// before use and read back at the next mount, and a collision in the hashed
// space is reported once, naming both objects.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/stored_device_numbers.h"
#include "fuse/inode_table.h"
#include "fuse/view_inode_numbers.h"
#include "support/temp_dir.h"
#include "wtcachefs/meta_store.h"

namespace wtcachefs {
namespace {

using testing::TempDir;
using testing::WriteFile;

constexpr uint64_t kRootDev = 0x803;

ViewDevice Root(uint64_t dev) { return ViewDevice{dev, true, 0}; }
ViewDevice Other(uint64_t dev, uint32_t number) { return ViewDevice{dev, false, number}; }
uint64_t DeviceField(uint64_t number) { return (number & ~kOtherDeviceBit) >> kDeviceNumberShift; }

TEST(ViewInodeNumber, RootDeviceShowsOriginsOwnNumbers) {
  const ViewDevice root{kRootDev, true, 0};
  for (uint64_t ino :
       {uint64_t{1}, uint64_t{2}, uint64_t{256}, uint64_t{1} << 40, (uint64_t{1} << 63) - 1}) {
    EXPECT_EQ(root.InodeNumber(ino), ino);
  }
}

TEST(ViewInodeNumber, RootDeviceNumbersFrom2To63AreHashed) {
  const ViewDevice root{kRootDev, true, 0};
  for (uint64_t ino : {uint64_t{1} << 63, ~uint64_t{0}}) {
    EXPECT_TRUE(IsHashedViewInodeNumber(root.InodeNumber(ino))) << ino;
    EXPECT_EQ(root.InodeNumber(ino), HashedViewInodeNumber(kRootDev, ino));
  }
}

TEST(ViewInodeNumber, OtherDevicesCarryTheirNumberAndOriginsInode) {
  const ViewDevice device{0x2d, false, 5};
  const uint64_t number = device.InodeNumber(257);
  EXPECT_EQ(number, kOtherDeviceBit | uint64_t{5} << 48 | 257);
  EXPECT_FALSE(IsHashedViewInodeNumber(number));
  EXPECT_EQ(device.InodeNumber(kDeviceInodeLimit - 1),
            kOtherDeviceBit | uint64_t{5} << 48 | (kDeviceInodeLimit - 1));
}

TEST(ViewInodeNumber, DeviceSpaceIsInjective) {
  // Every corner of both fields, then a random sample: equal numbers only for
  // equal (device number, inode).
  std::vector<uint32_t> devices = {1, 2, 3, 255, 256, kMaxDeviceNumber - 1, kMaxDeviceNumber};
  std::vector<uint64_t> inodes = {0,
                                  1,
                                  2,
                                  255,
                                  256,
                                  257,
                                  uint64_t{1} << 32,
                                  (uint64_t{1} << 47),
                                  kDeviceInodeLimit - 2,
                                  kDeviceInodeLimit - 1};
  std::set<uint64_t> seen;
  for (uint32_t k : devices) {
    for (uint64_t ino : inodes) {
      const uint64_t number = Other(1000 + k, k).InodeNumber(ino);
      EXPECT_TRUE(seen.insert(number).second) << k << " " << ino;
      EXPECT_EQ(DeviceField(number), k);
      EXPECT_EQ(number & (kDeviceInodeLimit - 1), ino);
    }
  }
  std::mt19937_64 random(25);
  std::map<uint64_t, std::pair<uint32_t, uint64_t>> origin_of;
  for (int i = 0; i < 200000; ++i) {
    const auto k = static_cast<uint32_t>(1 + random() % kMaxDeviceNumber);
    const uint64_t ino = random() % kDeviceInodeLimit;
    const auto [at, added] =
        origin_of.emplace(Other(k, k).InodeNumber(ino), std::make_pair(k, ino));
    if (!added) {
      EXPECT_EQ(at->second, std::make_pair(k, ino));
    }
  }
}

TEST(ViewInodeNumber, HashedSpaceIsDisjointFromTheOthers) {
  std::mt19937_64 random(63);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t dev = random();
    const uint64_t ino = random();
    const uint64_t hashed = HashedViewInodeNumber(dev, ino);
    EXPECT_NE(hashed & kOtherDeviceBit, 0u);
    ASSERT_EQ(DeviceField(hashed), 0u) << "a hashed number in the device space";
    ASSERT_TRUE(IsHashedViewInodeNumber(hashed));
    const uint64_t on_root = Root(dev).InodeNumber(ino >> 1);
    ASSERT_EQ(on_root & kOtherDeviceBit, 0u);
    ASSERT_FALSE(IsHashedViewInodeNumber(on_root));
    const auto k = static_cast<uint32_t>(1 + random() % kMaxDeviceNumber);
    ASSERT_FALSE(IsHashedViewInodeNumber(Other(dev, k).InodeNumber(ino % kDeviceInodeLimit)));
  }
}

TEST(ViewInodeNumber, WhatDoesNotFitTheDeviceSpaceIsHashed) {
  EXPECT_TRUE(IsHashedViewInodeNumber(Other(0x2d, 5).InodeNumber(kDeviceInodeLimit)));
  EXPECT_TRUE(IsHashedViewInodeNumber(Other(0x2d, 0).InodeNumber(257)));
  EXPECT_EQ(Other(0x2d, 0).InodeNumber(257), HashedViewInodeNumber(0x2d, 257));
}

// The hash is part of the numbers a remount (and an upgrade) must keep.
TEST(ViewInodeNumber, HashedNumbersAreFixed) {
  EXPECT_EQ(HashedViewInodeNumber(0x803, 12345), 0x8000d6c0880c674eull);
  EXPECT_EQ(HashedViewInodeNumber(0x2d, uint64_t{1} << 63), 0x8000f6043229e420ull);
}

// A device table in memory that counts its writes and fails on request.
class FakeDeviceNumberStore : public DeviceNumberStore {
 public:
  Result<std::vector<DeviceNumberRecord>> LoadDeviceNumbers() override {
    if (fail_load) return Status::Error(EUCLEAN, "damaged");
    return records;
  }
  Status RecordDeviceNumber(const DeviceNumberRecord& record) override {
    ++writes;
    if (fail_writes) return Status::Error(EIO, "write failed");
    records.push_back(record);
    return Status::Ok();
  }

  std::vector<DeviceNumberRecord> records;
  std::atomic<int> writes{0};
  bool fail_load = false;
  bool fail_writes = false;
};

class ViewInodeNumbersTest : public ::testing::Test {
 protected:
  std::unique_ptr<ViewInodeNumbers> Make(DeviceNumberStore* store) {
    return std::make_unique<ViewInodeNumbers>(kRootDev, store, [this](const std::string& message) {
      std::lock_guard lock(mutex_);
      warnings_.push_back(message);
    });
  }
  std::vector<std::string> Warnings() {
    std::lock_guard lock(mutex_);
    return warnings_;
  }

  FakeDeviceNumberStore store_;
  std::mutex mutex_;
  std::vector<std::string> warnings_;  // GUARDED_BY(mutex_)
};

TEST_F(ViewInodeNumbersTest, DevicesAreNumberedInOrderOfFirstSightAndRecordedOnce) {
  auto numbers = Make(&store_);
  EXPECT_EQ(numbers->Of(kRootDev, 256), 256u);
  EXPECT_EQ(numbers->Device(0x2d).number, 1u);
  EXPECT_EQ(numbers->Device(0x2c).number, 2u);
  EXPECT_EQ(numbers->Device(0x2d).number, 1u);
  EXPECT_EQ(numbers->Of(0x2c, 257), kOtherDeviceBit | uint64_t{2} << 48 | 257);
  EXPECT_EQ(store_.writes, 2);
  EXPECT_EQ(store_.records, (std::vector<DeviceNumberRecord>{{0x2d, 1}, {0x2c, 2}}));
  EXPECT_TRUE(Warnings().empty());
}

TEST_F(ViewInodeNumbersTest, ALoadedTableKeepsItsNumbersAndContinuesAfterTheHighest) {
  store_.records = {{0x40, 7}, {0x2d, 3}};
  auto numbers = Make(&store_);
  EXPECT_EQ(numbers->Device(0x2d).number, 3u);
  EXPECT_EQ(numbers->Device(0x99).number, 8u);
  EXPECT_EQ(numbers->Device(0x40).number, 7u);
  EXPECT_EQ(store_.writes, 1);
}

TEST_F(ViewInodeNumbersTest, ADeviceThatCannotBeRecordedIsHashedForTheRestOfTheMount) {
  auto numbers = Make(&store_);
  store_.fail_writes = true;
  EXPECT_EQ(numbers->Device(0x2d).number, 0u);
  EXPECT_TRUE(IsHashedViewInodeNumber(numbers->Of(0x2d, 257)));
  ASSERT_EQ(Warnings().size(), 1u);
  EXPECT_NE(Warnings()[0].find("0:45"), std::string::npos) << Warnings()[0];
  store_.fail_writes = false;
  // Never renumbered while mounted; the next device takes the number not used.
  EXPECT_EQ(numbers->Of(0x2d, 257), HashedViewInodeNumber(0x2d, 257));
  EXPECT_EQ(numbers->Device(0x2c).number, 1u);
  EXPECT_EQ(store_.writes, 2);
}

TEST_F(ViewInodeNumbersTest, AFullTableHashesTheDevicesMetAfterItAndSaysSoOnce) {
  store_.records = {{0x2d, kMaxDeviceNumber}};
  auto numbers = Make(&store_);
  EXPECT_EQ(numbers->Device(0x2d).number, kMaxDeviceNumber);
  EXPECT_EQ(numbers->Device(0x2c).number, 0u);
  EXPECT_EQ(numbers->Device(0x2b).number, 0u);
  EXPECT_TRUE(IsHashedViewInodeNumber(numbers->Of(0x2b, 1)));
  EXPECT_EQ(store_.writes, 0);
  EXPECT_EQ(Warnings().size(), 1u);
}

TEST_F(ViewInodeNumbersTest, AnUnreadableTableHashesEveryOtherDeviceWithAWarning) {
  store_.fail_load = true;
  auto numbers = Make(&store_);
  EXPECT_EQ(numbers->Of(kRootDev, 5), 5u);
  EXPECT_EQ(numbers->Device(0x2d).number, 0u);
  EXPECT_EQ(store_.writes, 0);
  ASSERT_EQ(Warnings().size(), 1u);
  EXPECT_NE(Warnings()[0].find("damaged"), std::string::npos) << Warnings()[0];
}

TEST_F(ViewInodeNumbersTest, ATableGivingOneNumberToTwoDevicesIsNotUsed) {
  store_.records = {{0x2d, 4}, {0x2c, 4}};
  auto numbers = Make(&store_);
  EXPECT_EQ(numbers->Device(0x2d).number, 0u);
  EXPECT_EQ(numbers->Device(0x2c).number, 0u);
  EXPECT_EQ(store_.writes, 0);
  EXPECT_EQ(Warnings().size(), 1u);
}

TEST_F(ViewInodeNumbersTest, WithoutAStoreEveryOtherDeviceIsHashedSilently) {
  auto numbers = Make(nullptr);
  EXPECT_EQ(numbers->Of(kRootDev, 9), 9u);
  EXPECT_EQ(numbers->Of(0x2d, 9), HashedViewInodeNumber(0x2d, 9));
  EXPECT_TRUE(Warnings().empty());
}

TEST_F(ViewInodeNumbersTest, ADeviceMetByManyThreadsAtOnceGetsOneNumber) {
  auto numbers = Make(&store_);
  std::vector<std::thread> threads;
  std::vector<uint32_t> seen(8);
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t dev = 0x100; dev < 0x140; ++dev) seen[t] += numbers->Device(dev).number;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store_.writes, 0x40);
  for (uint32_t sum : seen) EXPECT_EQ(sum, 0x40u * 0x41u / 2);
  std::set<uint32_t> distinct;
  for (const DeviceNumberRecord& record : store_.records) distinct.insert(record.number);
  EXPECT_EQ(distinct.size(), 0x40u);
}

// Through the cache's real metadata store: a remount that meets the devices in
// another order gives them the numbers of the first mount.
TEST(StoredDeviceNumbers, NumbersSurviveReopeningTheStore) {
  TempDir dir;
  const std::string path = dir.Sub("meta", false);
  const std::atomic<bool> degraded{false};
  std::map<uint64_t, uint64_t> first;
  {
    auto store = MetaStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    StoredDeviceNumbers devices(*store.value(), degraded);
    ViewInodeNumbers numbers(kRootDev, &devices, {});
    for (uint64_t dev : {0x2d, 0x2e, 0x2f}) first[dev] = numbers.Of(dev, 257);
  }
  auto store = MetaStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  StoredDeviceNumbers devices(*store.value(), degraded);
  ViewInodeNumbers numbers(kRootDev, &devices, {});
  for (uint64_t dev : {0x2f, 0x2e, 0x2d}) EXPECT_EQ(numbers.Of(dev, 257), first[dev]) << dev;
  EXPECT_EQ(numbers.Device(0x30).number, 4u);
  EXPECT_EQ(numbers.Device(0x2d).number, 1u);
}

TEST(StoredDeviceNumbers, ADegradedCacheRecordsNothingAndTheDeviceIsHashed) {
  TempDir dir;
  auto store = MetaStore::Open(dir.Sub("meta", false));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::atomic<bool> degraded{true};
  StoredDeviceNumbers devices(*store.value(), degraded);
  std::vector<std::string> warnings;
  ViewInodeNumbers numbers(kRootDev, &devices,
                           [&](const std::string& message) { warnings.push_back(message); });
  EXPECT_TRUE(IsHashedViewInodeNumber(numbers.Of(0x2d, 257)));
  EXPECT_EQ(warnings.size(), 1u);
  auto loaded = devices.LoadDeviceNumbers();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.value().empty());
}

// Every object numbered into one hashed number: what the InodeTable reports.
class HashedCollisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UniqueFd root(::open(dir_.path().c_str(), O_PATH | O_CLOEXEC));
    ASSERT_TRUE(root.valid());
    struct stat root_stat;
    ASSERT_EQ(::fstat(root.get(), &root_stat), 0);
    InodeTable::Numbering numbering;
    numbering.number_of = [root_stat](uint64_t dev, uint64_t ino) {
      return dev == root_stat.st_dev && ino == root_stat.st_ino ? ino : kOtherDeviceBit | 42;
    };
    numbering.on_collision = [this](const std::string& message) { reports_.push_back(message); };
    table_ = std::make_unique<InodeTable>(std::move(root), root_stat, /*fd_budget=*/100,
                                          InodeTable::Handles::kNever, numbering);
  }
  uint64_t Lookup(const std::string& name) {
    UniqueFd fd(::open((dir_.path() + "/" + name).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    EXPECT_TRUE(fd.valid()) << name;
    struct stat st;
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    return table_->AddLookup(InodeTable::kRootId, name, std::move(fd), st);
  }

  TempDir dir_;
  std::unique_ptr<InodeTable> table_;
  std::vector<std::string> reports_;
};

TEST_F(HashedCollisionTest, TwoObjectsSharingAHashedNumberAreReportedOnceNamingBoth) {
  WriteFile(dir_.path() + "/first", "1");
  WriteFile(dir_.path() + "/second", "2");
  WriteFile(dir_.path() + "/third", "3");
  const uint64_t first = Lookup("first");
  EXPECT_EQ(table_->Get(first).view_ino, kOtherDeviceBit | 42);
  EXPECT_TRUE(reports_.empty());
  Lookup("second");
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_NE(reports_[0].find(dir_.path() + "/first"), std::string::npos) << reports_[0];
  EXPECT_NE(reports_[0].find(dir_.path() + "/second"), std::string::npos) << reports_[0];
  Lookup("third");
  EXPECT_EQ(reports_.size(), 1u);
}

TEST_F(HashedCollisionTest, HardLinksOfOneObjectAreNoCollision) {
  WriteFile(dir_.path() + "/name", "1");
  ASSERT_EQ(::link((dir_.path() + "/name").c_str(), (dir_.path() + "/other_name").c_str()), 0);
  EXPECT_EQ(Lookup("name"), Lookup("other_name"));
  EXPECT_TRUE(reports_.empty());
}

TEST_F(HashedCollisionTest, AForgottenObjectNoLongerHoldsItsNumber) {
  WriteFile(dir_.path() + "/first", "1");
  WriteFile(dir_.path() + "/second", "2");
  table_->Forget(Lookup("first"), 1);
  Lookup("second");
  EXPECT_TRUE(reports_.empty());
}

}  // namespace
}  // namespace wtcachefs
