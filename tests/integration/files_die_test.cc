// SPDX-License-Identifier: Apache-2.0
// DESIGN W8 on a real mount: files deleted or replaced through the view give
// their cache blocks back at once (an open file at its last close), and a
// remount finds none of them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

constexpr int kFiles = 200;

class FilesDie : public ::testing::Test {
 protected:
  explicit FilesDie(std::vector<std::string> args = {"-o", "cache_size=64M"})
      : view_(std::move(args)) {}
  void SetUp() override { ASSERT_TRUE(view_.ok()) << view_.failure(); }

  // Creates `name` through the view and reads it back past the page cache:
  // one cached block (4 KiB of a 64 KiB block).
  void CreateCached(const std::string& name, char fill) {
    WriteFile(view_.ViewPath(name), std::string(4096, fill));
    ASSERT_EQ(ReadFileDirect(view_.ViewPath(name)), std::string(4096, fill));
  }

  uint64_t Used() { return StatusCounter(view_.view(), "used_blocks"); }

  // Waits up to 5 s for used_blocks to be `blocks` (a release reaches the
  // daemon after close(2) returns).
  bool WaitForUsed(uint64_t blocks) {
    for (int i = 0; i < 500 && Used() != blocks; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Used() == blocks;
  }

  MountedView view_;
};

// The same without the sweep: what a lookup finds, it finds alone.
class FilesDieWithoutSweep : public FilesDie {
 protected:
  FilesDieWithoutSweep() : FilesDie({"-o", "cache_size=64M,sweep_interval=0"}) {}
};

TEST_F(FilesDie, FilesDeletedThroughTheViewGiveBackTheirBlocks) {
  for (int i = 0; i < kFiles; ++i) CreateCached("f" + std::to_string(i), 'a');
  ASSERT_EQ(Used(), static_cast<uint64_t>(kFiles));
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(::unlink(view_.ViewPath("f" + std::to_string(i)).c_str()), 0);
  }
  EXPECT_TRUE(WaitForUsed(0)) << "used_blocks " << Used();
  ASSERT_TRUE(view_.Unmount());
  ASSERT_TRUE(view_.Remount()) << view_.failure();
  EXPECT_EQ(Used(), 0u) << "the unmapping was not durable";
}

TEST_F(FilesDie, AFileReplacedByARenameGivesBackItsBlocks) {
  CreateCached("old", 'o');
  CreateCached("new", 'n');
  ASSERT_EQ(Used(), 2u);
  ASSERT_EQ(::rename(view_.ViewPath("new").c_str(), view_.ViewPath("old").c_str()), 0);
  EXPECT_TRUE(WaitForUsed(1)) << "used_blocks " << Used();
  EXPECT_EQ(ReadFileDirect(view_.ViewPath("old")), std::string(4096, 'n'));
}

// Deleted, or replaced by a rename, behind the mount: found at the name's next
// lookup (once the kernel's entry timeout, 1 s, has passed).
TEST_F(FilesDieWithoutSweep,
       FilesDeletedOrReplacedBehindTheMountGiveBackTheirBlocksAtTheirNextLookup) {
  constexpr int kBehind = 50;
  for (int i = 0; i < kBehind; ++i) CreateCached("gone" + std::to_string(i), 'g');
  CreateCached("replaced", 'r');
  ASSERT_EQ(Used(), static_cast<uint64_t>(kBehind + 1));
  for (int i = 0; i < kBehind; ++i) {
    ASSERT_EQ(::unlink(view_.OriginPath("gone" + std::to_string(i)).c_str()), 0);
  }
  WriteFile(view_.OriginPath("replacement"), std::string(4096, 'n'));
  ASSERT_EQ(::rename(view_.OriginPath("replacement").c_str(), view_.OriginPath("replaced").c_str()),
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Used(), static_cast<uint64_t>(kBehind + 1)) << "found without a lookup";
  struct stat st;
  for (int i = 0; i < kBehind; ++i) {
    EXPECT_NE(::stat(view_.ViewPath("gone" + std::to_string(i)).c_str(), &st), 0);
  }
  ASSERT_EQ(::stat(view_.ViewPath("replaced").c_str(), &st), 0);
  EXPECT_TRUE(WaitForUsed(0)) << "used_blocks " << Used();
  EXPECT_EQ(StatusCounter(view_.view(), "deleted_files"), static_cast<uint64_t>(kBehind + 1));
  EXPECT_EQ(ReadFileDirect(view_.ViewPath("replaced")), std::string(4096, 'n'));
}

// Deleted behind the mount and never looked up again: found by the sweep
// (a step of 256 records a second).
TEST_F(FilesDie, FilesDeletedBehindTheMountAndNeverLookedUpGiveBackTheirBlocksAtTheSweep) {
  constexpr int kBehind = 50;
  for (int i = 0; i < kBehind; ++i) CreateCached("swept" + std::to_string(i), 's');
  CreateCached("kept", 'k');
  ASSERT_EQ(Used(), static_cast<uint64_t>(kBehind + 1));
  for (int i = 0; i < kBehind; ++i) {
    ASSERT_EQ(::unlink(view_.OriginPath("swept" + std::to_string(i)).c_str()), 0);
  }
  EXPECT_TRUE(WaitForUsed(1)) << "used_blocks " << Used();
  EXPECT_EQ(StatusCounter(view_.view(), "deleted_files"), static_cast<uint64_t>(kBehind));
  EXPECT_EQ(ReadFileDirect(view_.ViewPath("kept")), std::string(4096, 'k'));
}

TEST_F(FilesDie, AnOpenFileIsServedFromTheCacheUntilItsLastClose) {
  CreateCached("open", 'x');
  const int fd = ::open(view_.ViewPath("open").c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(view_.ViewPath("open").c_str()), 0);
  EXPECT_EQ(Used(), 1u);
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, 4096), 0);
  const uint64_t from_cache = StatusCounter(view_.view(), "bytes_read_from_cache");
  EXPECT_EQ(::pread(fd, buffer, 4096, 0), 4096);
  EXPECT_EQ(std::string(static_cast<char*>(buffer), 4096), std::string(4096, 'x'));
  EXPECT_EQ(StatusCounter(view_.view(), "bytes_read_from_cache") - from_cache, 4096u);
  std::free(buffer);
  ::close(fd);
  EXPECT_TRUE(WaitForUsed(0)) << "used_blocks " << Used();
}

}  // namespace
}  // namespace wtcachefs::testing
