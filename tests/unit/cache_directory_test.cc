// SPDX-License-Identifier: Apache-2.0
// Owning a cache directory: one mount at a time, one origin per cache, one block
// size per cache, and damaged metadata replaced rather than trusted.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "cache_dir/cache_directory.h"
#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using testing::TempDir;

class CacheDirectoryTest : public ::testing::Test {
 protected:
  CacheDirectoryRequest Request() {
    CacheDirectoryRequest r;
    r.cache_dir = dir_.Sub("cache");
    r.origin_dev = 1;
    r.origin_ino = 2;
    r.origin_path = "/srv/origin";
    r.cache_bytes = 100 * CacheDirectory::kDefaultBlockSize;
    r.max_slots = 1000;
    return r;
  }
  std::unique_ptr<CacheDirectory> OpenOk(const CacheDirectoryRequest& r) {
    auto opened = CacheDirectory::Open(r);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    if (!opened.ok()) return nullptr;
    const Status recorded = opened.value()->RecordMount();
    EXPECT_TRUE(recorded.ok()) << recorded.message();
    return std::move(opened).value();
  }
  TempDir dir_;
};

TEST_F(CacheDirectoryTest, NewCacheRecordsOriginAndDefaultBlockSizeAndIsPrivate) {
  auto cache = OpenOk(Request());
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->superblock().block_size, 64u * 1024);
  EXPECT_EQ(cache->superblock().origin_path, "/srv/origin");
  EXPECT_FALSE(cache->recovered_from_unclean_shutdown());
  struct stat st;
  ASSERT_EQ(::stat(Request().cache_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(CacheDirectoryTest, SecondOwnerIsRefusedWhileTheFirstHoldsIt) {
  auto first = OpenOk(Request());
  ASSERT_TRUE(first);
  auto second = CacheDirectory::Open(Request());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().error(), EBUSY);
  EXPECT_NE(second.status().message().find("in use by another wtcachefs mount"),
            std::string::npos);
  EXPECT_NE(second.status().message().find(Request().cache_dir), std::string::npos);
  first.reset();
  EXPECT_TRUE(OpenOk(Request()));
}

TEST_F(CacheDirectoryTest, ShutdownWithoutMarkCleanIsSeenAsUnclean) {
  { ASSERT_TRUE(OpenOk(Request())); }
  {
    auto cache = OpenOk(Request());
    ASSERT_TRUE(cache);
    EXPECT_TRUE(cache->recovered_from_unclean_shutdown());
    ASSERT_TRUE(cache->MarkClean().ok());
  }
  auto cache = OpenOk(Request());
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->recovered_from_unclean_shutdown());
}

TEST_F(CacheDirectoryTest, CacheOfAnotherOriginIsRefusedNamingTheResetFlag) {
  { ASSERT_TRUE(OpenOk(Request())); }
  CacheDirectoryRequest other = Request();
  other.origin_ino = 99;
  other.origin_path = "/srv/other";
  auto refused = CacheDirectory::Open(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--reset-cache"), std::string::npos);
  EXPECT_NE(refused.status().message().find("/srv/origin"), std::string::npos);
  other.reset = true;
  auto reset = OpenOk(other);
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->superblock().origin_path, "/srv/other");
}

TEST_F(CacheDirectoryTest, DifferentBlockSizeOnRemountIsAClearError) {
  CacheDirectoryRequest r = Request();
  r.block_size = 128 * 1024;
  { ASSERT_TRUE(OpenOk(r)); }
  r.block_size = 256 * 1024;
  auto refused = CacheDirectory::Open(r);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("131072"), std::string::npos);
  EXPECT_NE(refused.status().message().find("--reset-cache"), std::string::npos);
  r.block_size.reset();
  auto cache = OpenOk(r);
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->superblock().block_size, 128u * 1024) << "the stored size must be kept";
}

TEST_F(CacheDirectoryTest, AMountThatFailsBeforeRecordingLeavesNothingRecorded) {
  {
    auto opened = CacheDirectory::Open(Request());
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_TRUE(opened.value()->created());
  }
  CacheDirectoryRequest bigger = Request();
  bigger.cache_bytes = 1000 * CacheDirectory::kDefaultBlockSize;
  {
    auto opened = CacheDirectory::Open(bigger);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_TRUE(opened.value()->created()) << "nothing was recorded by the first open";
    EXPECT_TRUE(opened.value()->warnings().empty());
  }
  { ASSERT_TRUE(OpenOk(Request())); }
  bigger.resize = true;
  { ASSERT_TRUE(CacheDirectory::Open(bigger).ok()); }  // resized, then failed
  auto cache = OpenOk(Request());
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->created());
  EXPECT_EQ(cache->superblock().slot_count, 100u) << "an unrecorded resize must not stick";
}

TEST_F(CacheDirectoryTest, DamagedMetadataIsDiscardedWithAWarning) {
  { ASSERT_TRUE(OpenOk(Request())); }
  const std::string meta = Request().cache_dir + "/meta";
  for (const auto& entry : std::filesystem::directory_iterator(meta)) {
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) {
      testing::WriteFile(entry.path().string(), std::string(8192, '\x11'));
    }
  }
  auto cache = OpenOk(Request());
  ASSERT_TRUE(cache);
  ASSERT_EQ(cache->warnings().size(), 1u);
  EXPECT_NE(cache->warnings()[0].find("discarding"), std::string::npos);
}

TEST_F(CacheDirectoryTest, MetadataReplacedByAFileIsDiscardedToo) {
  const std::string meta = Request().cache_dir + "/meta";
  testing::WriteFile(meta, "not a database");
  auto cache = OpenOk(Request());
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->warnings().size(), 1u);
}

}  // namespace
}  // namespace wtcachefs
