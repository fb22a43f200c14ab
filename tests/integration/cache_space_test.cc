// SPDX-License-Identifier: Apache-2.0
// The cache's room on a file system it shares: a default-sized cache grows only
// while its file system keeps the free-space floor and gives room back when
// something else fills it, without an error to readers or writers; an explicit
// --cache-size is reserved, and refused before anything is allocated when the
// room is not free; a failed allocation gives back what it took.
//
// The cache lives on a small tmpfs (mounting one needs root; otherwise skipped),
// which another "program" (a filler file) fills and empties.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "cache_dir/preallocated_file.h"
#include "engine/space_guard.h"
#include "support/child_process.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr uint64_t kMiB = 1 << 20;

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs fs {};
  EXPECT_EQ(::statvfs(dir.c_str(), &fs), 0);
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

uint64_t TotalBytes(const std::string& dir) {
  struct statvfs fs {};
  EXPECT_EQ(::statvfs(dir.c_str(), &fs), 0);
  return static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
}

// "Another program": a file of `dir`'s file system resized so that `left`
// bytes stay free. The daemon may take room between the reading of the free
// space and the allocation (its cache grows while reads go on): then the room
// is measured again, a bounded number of times.
void LeaveFree(const std::string& dir, const std::string& filler, uint64_t left) {
  constexpr int kAttempts = 50;
  int error = 0;
  uint64_t size = 0;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSERT_EQ(::truncate(filler.c_str(), 0), 0) << filler;
    const uint64_t free_now = FreeBytes(dir);
    size = free_now > left ? free_now - left : 0;
    if (size == 0) return;
    const int fd = ::open(filler.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << filler;
    error = ::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0 ? 0 : errno;
    ::close(fd);
    if (error != ENOSPC) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(error, 0) << "filler of " << size << ": " << std::strerror(error);
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

class CacheSpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = dir_.Sub("cache");
    origin_ = dir_.Sub("origin");
    view_ = dir_.Sub("view");
  }
  // Mounts a tmpfs of `size` at CACHE; skips the test when that is not allowed.
  bool MountCacheFileSystem(uint64_t size) {
    tmpfs_ = std::make_unique<testing::TmpfsMount>(cache_, "size=" + std::to_string(size) + ",mode=0700");
    return tmpfs_->ok();
  }
  std::unique_ptr<ChildProcess> Mount(const std::vector<std::string>& extra, std::string* failure) {
    std::vector<std::string> argv = {testing::WtcachefsBinary(), origin_, cache_, view_, "-f"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::StartForegroundMount(argv, view_, failure);
  }
  void TearDown() override {
    if (daemon_) testing::StopForegroundMount(daemon_, view_, 20s);
    // Before the tmpfs goes (its destructor runs after this).
  }

  TempDir dir_;
  std::string cache_, origin_, view_;
  std::unique_ptr<testing::TmpfsMount> tmpfs_;
  std::unique_ptr<ChildProcess> daemon_;
};

// Cache data the daemon holds on the cache file system.
uint64_t SlotFileBytes(const std::string& cache) { return AllocatedBytes(cache + "/slots"); }

TEST_F(CacheSpaceTest, DefaultCacheStaysAboveTheFloorAndGivesRoomBackWhenOthersNeedIt) {
  if (::geteuid() != 0 || !MountCacheFileSystem(256 * kMiB)) GTEST_SKIP() << "needs root for a tmpfs";
  const uint64_t floor = TotalBytes(cache_) / 100 * SpaceGuard::kFloorPercent;
  const std::string filler = cache_ + "/other-program";
  WriteFile(filler, "");
  LeaveFree(cache_, filler, floor + 16 * kMiB);

  const std::string content = RandomBytes(40 * kMiB, 1);
  WriteFile(origin_ + "/data", content);
  std::string failure;
  // The default size (a tenth of the tmpfs); every read cached.
  daemon_ = Mount({"--sequential-cutoff", "0"}, &failure);
  ASSERT_TRUE(daemon_) << failure;

  // The cache would hold 25.6 MiB by its size; the floor leaves it about 16.
  ASSERT_EQ(ReadFile(view_ + "/data"), content);
  ASSERT_EQ(ReadFile(view_ + "/data"), content);
  EXPECT_GE(SlotFileBytes(cache_), 4 * kMiB) << "the cache caches within the free space";
  EXPECT_LE(SlotFileBytes(cache_), 17 * kMiB);
  // The metadata store (a few MiB of log) is not counted against the floor.
  EXPECT_GE(FreeBytes(cache_) + 8 * kMiB, floor) << "the cache took the file system below its floor";

  // Another program takes the file system below the floor: the cache gives back
  // what it holds, while reads and writes go on without an error.
  LeaveFree(cache_, filler, 8 * kMiB);
  EXPECT_TRUE(WaitUntil([&] { return SlotFileBytes(cache_) <= 256 * 1024; }, 15s))
      << "the cache still holds " << SlotFileBytes(cache_) << " bytes below the floor";
  EXPECT_EQ(ReadFile(view_ + "/data"), content);
  const std::string written = RandomBytes(8 * kMiB, 2);
  WriteFile(view_ + "/written", written);
  EXPECT_EQ(ReadFile(origin_ + "/written"), written);
  EXPECT_EQ(ReadFile(view_ + "/written"), written);
  EXPECT_LE(SlotFileBytes(cache_), 256 * 1024) << "the cache grew below the floor";
  const testing::CommandResult status =
      testing::RunCommand({testing::WtcachefsBinary(), "status", view_, "--line"});
  const size_t limit_at = status.out.find(" space_limit_blocks=");
  ASSERT_NE(limit_at, std::string::npos) << status.out;
  EXPECT_LT(std::strtoull(status.out.c_str() + limit_at + 20, nullptr, 10), 16u)
      << "status does not show the limit: " << status.out;
  EXPECT_NE(status.out.find(" total_blocks=409 "), std::string::npos) << status.out;

  // The other program leaves: the cache grows again.
  LeaveFree(cache_, filler, floor + 64 * kMiB);
  EXPECT_TRUE(WaitUntil(
      [&] {
        (void)testing::ReadFileDirect(view_ + "/data");  // past the page cache
        return SlotFileBytes(cache_) >= 16 * kMiB;
      },
      15s))
      << "the cache did not grow again: " << SlotFileBytes(cache_) << " bytes";
  const std::string log = daemon_->StderrSoFar();
  EXPECT_EQ(log.find("degraded"), std::string::npos) << log;

  // The file system fills up completely: the cache's own metadata cannot be
  // written any more either, but readers and writers still get no error.
  LeaveFree(cache_, filler, 0);
  const std::string rewritten = RandomBytes(2 * kMiB, 3);
  WriteFile(view_ + "/written", rewritten);
  EXPECT_EQ(ReadFile(origin_ + "/written"), rewritten);
  EXPECT_EQ(ReadFile(view_ + "/written"), rewritten);
  EXPECT_EQ(ReadFile(view_ + "/data"), content);
  LeaveFree(cache_, filler, floor);
  const std::string final_log = daemon_->StderrSoFar();
  testing::StopForegroundMount(daemon_, view_, 20s);
  // The metadata store could not take a commit: the cache degrades to the
  // origin only, which loses nothing.
  std::string failure_after;
  daemon_ = Mount({}, &failure_after);
  ASSERT_TRUE(daemon_) << failure_after << "\nearlier:\n" << final_log;
  EXPECT_EQ(ReadFile(view_ + "/written"), rewritten);
  EXPECT_EQ(ReadFile(view_ + "/data"), content);
}

TEST_F(CacheSpaceTest, ExplicitSizeLargerThanTheFreeSpaceIsRefusedBeforeAnythingIsAllocated) {
  if (::geteuid() != 0 || !MountCacheFileSystem(64 * kMiB)) GTEST_SKIP() << "needs root for a tmpfs";
  WriteFile(origin_ + "/data", "origin bytes");
  const uint64_t free_before = FreeBytes(cache_);
  std::string failure;
  daemon_ = Mount({"--cache-size", "100M"}, &failure);
  ASSERT_FALSE(daemon_) << "a 100 MiB cache on a 64 MiB file system was mounted";
  EXPECT_NE(failure.find("exit 2"), std::string::npos) << failure;
  EXPECT_NE(failure.find("cache size 100.0 MiB"), std::string::npos) << failure;
  EXPECT_NE(failure.find("MiB ("), std::string::npos) << failure;
  EXPECT_NE(failure.find(" free"), std::string::npos) << failure;
  EXPECT_NE(failure.find("--cache-size"), std::string::npos) << failure;
  EXPECT_NE(failure.find(cache_), std::string::npos) << failure;
  struct stat st;
  EXPECT_NE(::stat((cache_ + "/slots").c_str(), &st), 0) << "a slot file was made";
  EXPECT_NE(::stat((cache_ + "/checksums").c_str(), &st), 0) << "a checksum file was made";
  EXPECT_GE(FreeBytes(cache_) + 8 * kMiB, free_before);

  // A size that fits is reserved at once; the next plain mount starts clean and
  // keeps it.
  daemon_ = Mount({"--cache-size", "16M"}, &failure);
  ASSERT_TRUE(daemon_) << failure;
  EXPECT_GE(SlotFileBytes(cache_), 16 * kMiB) << "an explicit size is allocated up front";
  EXPECT_EQ(ReadFile(view_ + "/data"), "origin bytes");
  ASSERT_TRUE(testing::StopForegroundMount(daemon_, view_, 20s));
  // Growing it past the free space is refused too, and the cache keeps its size.
  daemon_ = Mount({"--cache-size", "100M"}, &failure);
  ASSERT_FALSE(daemon_);
  EXPECT_NE(failure.find("cache size 100.0 MiB"), std::string::npos) << failure;
  daemon_ = Mount({}, &failure);
  ASSERT_TRUE(daemon_) << failure;
  const std::string log = daemon_->StderrSoFar();
  EXPECT_EQ(log.find("discard"), std::string::npos) << log;
  EXPECT_EQ(log.find("resized"), std::string::npos) << log;
  struct stat slots;
  ASSERT_EQ(::stat((cache_ + "/slots").c_str(), &slots), 0);
  EXPECT_EQ(static_cast<uint64_t>(slots.st_size), 16 * kMiB);
  EXPECT_EQ(ReadFile(view_ + "/data"), "origin bytes");
}

// An existing reserved cache holds its room: a file system filled up beside it
// does not keep the view from mounting; only a new or grown reservation needs
// free space.
TEST_F(CacheSpaceTest, AnExistingReservedCacheMountsWhenItsFileSystemFilledUpBesideIt) {
  if (::geteuid() != 0 || !MountCacheFileSystem(64 * kMiB)) GTEST_SKIP() << "needs root for a tmpfs";
  const std::string content = RandomBytes(4 * kMiB, 4);
  WriteFile(origin_ + "/data", content);
  std::string failure;
  daemon_ = Mount({"--cache-size", "16M"}, &failure);
  ASSERT_TRUE(daemon_) << failure;
  ASSERT_EQ(ReadFile(view_ + "/data"), content);
  ASSERT_TRUE(testing::StopForegroundMount(daemon_, view_, 20s));

  const std::string filler = cache_ + "/other-program";
  WriteFile(filler, "");
  LeaveFree(cache_, filler, 512 * 1024);
  daemon_ = Mount({"--cache-size", "16M"}, &failure);
  ASSERT_TRUE(daemon_) << "the view of an intact cache was refused: " << failure;
  EXPECT_EQ(ReadFile(view_ + "/data"), content);
  const std::string written = RandomBytes(1 * kMiB, 5);
  WriteFile(view_ + "/written", written);
  EXPECT_EQ(ReadFile(origin_ + "/written"), written);
  EXPECT_EQ(ReadFile(view_ + "/written"), written);
  ASSERT_TRUE(testing::StopForegroundMount(daemon_, view_, 20s));
  // Growing the reservation needs the room it lacks: refused, nothing changed.
  daemon_ = Mount({"--cache-size", "32M"}, &failure);
  ASSERT_FALSE(daemon_) << "a reservation grew on a full file system";
  EXPECT_NE(failure.find("cache size 32.0 MiB"), std::string::npos) << failure;
}

TEST_F(CacheSpaceTest, FailedAllocationGivesBackWhatItTook) {
  if (::geteuid() != 0 || !MountCacheFileSystem(32 * kMiB)) GTEST_SKIP() << "needs root for a tmpfs";
  const uint64_t free_before = FreeBytes(cache_);
  const std::string created = cache_ + "/new-file";
  auto failed = OpenPreallocated(created, static_cast<off_t>(64 * kMiB), "a test file",
                                 CacheSpace::kReserved);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().error(), ENOSPC);
  struct stat st;
  EXPECT_NE(::stat(created.c_str(), &st), 0) << "the file it created is left";
  EXPECT_EQ(FreeBytes(cache_), free_before);

  const std::string existing = cache_ + "/existing-file";
  {
    auto made = OpenPreallocated(existing, static_cast<off_t>(4 * kMiB), "a test file",
                                 CacheSpace::kReserved);
    ASSERT_TRUE(made.ok()) << made.status().message();
  }
  const uint64_t free_with_it = FreeBytes(cache_);
  auto grown = OpenPreallocated(existing, static_cast<off_t>(64 * kMiB), "a test file",
                                CacheSpace::kReserved);
  ASSERT_FALSE(grown.ok());
  ASSERT_EQ(::stat(existing.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 4 * kMiB) << "cut back to its old size";
  EXPECT_EQ(FreeBytes(cache_), free_with_it);

  // An elastic file takes no room until written.
  auto sparse = OpenPreallocated(cache_ + "/sparse-file", static_cast<off_t>(1024 * kMiB),
                                 "a test file", CacheSpace::kElastic);
  ASSERT_TRUE(sparse.ok()) << sparse.status().message();
  EXPECT_EQ(AllocatedBytes(cache_ + "/sparse-file"), 0u);
}

}  // namespace
}  // namespace wtcachefs
