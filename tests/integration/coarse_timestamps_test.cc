// SPDX-License-Identifier: Apache-2.0
// Racily clean fingerprints (DESIGN W6, engine/racy_fingerprint.h): over an
// origin whose timestamps carry whole seconds (SFTP, FAT, ext3), two changes
// in one second at one size look alike to a fingerprint. The view is never
// staler than the origin read directly: what was read or written in the tick
// of the file's last change is not served once another look at the file (an
// open, a revalidation, a remount) could not tell a later change from none.
// A file being written at a crash still comes back warm over such an origin
// once its last change is out of the tick (DESIGN W4). Each case runs over the
// slow-origin fixture reporting whole seconds and over sshfs, in directory and
// image mode.
#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>

#include "integration/origin_rig.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

using std::chrono::milliseconds;

int64_t WallSecond() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

// Waits for the start of the next wall-clock second, so that what follows
// (well under half a second of work) lands in one second of origin's clock.
void WaitForNextSecond() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::this_thread::sleep_for(std::chrono::nanoseconds(1'000'000'000 - ts.tv_nsec + 5'000'000));
}

// Rewrites `length` bytes at 0 of `path` in place (the size stays), as another
// program writing origin directly.
void Rewrite(const std::string& path, size_t length, uint32_t seed) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  const std::string bytes = Pattern(length, seed);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

using Param = std::tuple<Mode, Origin>;
std::string ParamName(const ::testing::TestParamInfo<Param>& param_info) {
  return ModeName(std::get<0>(param_info.param)) + OriginName(std::get<1>(param_info.param));
}

class CoarseTimestamps : public ::testing::TestWithParam<Param> {
 protected:
  // Runs `round` until it ran within one wall-clock second (a slow machine
  // may cross a second boundary, and then the case proves nothing), at most
  // five times; returns false when it never did.
  template <typename Round>
  bool InOneSecond(Round&& round) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      WaitForNextSecond();
      const int64_t second = WallSecond();
      round();
      if (::testing::Test::HasFatalFailure()) return true;
      if (WallSecond() == second) return true;
    }
    return false;
  }
};

// Another program changes the file twice in one second; the view read it in
// between. A fresh open must not serve the first change's bytes.
TEST_P(CoarseTimestamps, W6TwoChangesBehindTheMountInOneSecondAreBothSeen) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  bool served_first = false;
  ASSERT_TRUE(InOneSecond([&] {
    Rewrite(rig.backing_file(), 4096, 10);
    served_first = ReadFileDirect(rig.view_file()) == ReadFile(rig.backing_file());
    Rewrite(rig.backing_file(), 4096, 11);
  })) << "the machine never ran the case within one second";
  ASSERT_TRUE(served_first);
  const std::string expected = ReadFile(rig.backing_file());
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected) << "fresh open, from the daemon";
  EXPECT_TRUE(ReadFile(rig.view_file()) == expected) << "fresh open, buffered";
  EXPECT_GT(StatusCounter(rig.view(), "racy_drops"), 0u);
}

// The view writes the file, and another program changes it in the same
// second: the view's own write must not vouch for the bytes it cached.
TEST_P(CoarseTimestamps, W6AWriteThroughTheViewThenOneBehindItInOneSecond) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  ASSERT_EQ(ReadFileDirect(rig.view_file()).size(), kFileSize);
  ASSERT_TRUE(InOneSecond([&] {
    const int fd = ::open(rig.view_file().c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const std::string own = Pattern(64 << 10, 20);
    ASSERT_EQ(::pwrite(fd, own.data(), own.size(), 0), static_cast<ssize_t>(own.size()));
    ::close(fd);
    Rewrite(rig.backing_file(), 64 << 10, 21);
  })) << "the machine never ran the case within one second";
  const std::string expected = ReadFile(rig.backing_file());
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected) << "fresh open, from the daemon";
  EXPECT_TRUE(ReadFile(rig.view_file()) == expected) << "fresh open, buffered";
}

// A descriptor held open: after the revalidation interval (1 s) it serves the
// second change, buffered and O_DIRECT alike.
TEST_P(CoarseTimestamps, W6AHeldFileSeesASecondChangeInOneSecondAfterTheInterval) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  std::unique_ptr<HeldViewFile> held;
  ASSERT_TRUE(InOneSecond([&] {
    Rewrite(rig.backing_file(), 4096, 30);
    held = std::make_unique<HeldViewFile>(rig.view_file());
    ASSERT_TRUE(held->ok());
    ASSERT_TRUE(held->ReadBoth());
    Rewrite(rig.backing_file(), 4096, 31);
  })) << "the machine never ran the case within one second";
  std::this_thread::sleep_for(milliseconds(1600));
  held->ExpectBothServe(ReadFile(rig.backing_file()));
}

// What the view cached in the racy second does not come back vouched for
// after a remount: the file's record was persisted smudged.
TEST_P(CoarseTimestamps, W6RacyContentIsNotServedAfterARemount) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  ASSERT_TRUE(InOneSecond([&] {
    const int fd = ::open(rig.view_file().c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::string all(kFileSize, '\0');
    ASSERT_EQ(::pread(fd, all.data(), kFileSize, 0), static_cast<ssize_t>(kFileSize));
    const std::string own = Pattern(4096, 40);
    ASSERT_EQ(::pwrite(fd, own.data(), own.size(), 8192), 4096);
    ::close(fd);
    Rewrite(rig.backing_file(), 4096, 41);
  })) << "the machine never ran the case within one second";
  ASSERT_TRUE(rig.Unmount());
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == ReadFile(rig.backing_file()));
}

// The same after SIGKILL, once a group commit has made the read blocks'
// mappings durable: only the smudged record keeps them from being served.
TEST_P(CoarseTimestamps, W6RacyContentIsNotServedAfterACrash) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  ASSERT_TRUE(InOneSecond([&] {
    Rewrite(rig.backing_file(), 4096, 50);
    ASSERT_EQ(ReadFileDirect(rig.view_file()).size(), kFileSize);
    Rewrite(rig.backing_file(), 4096, 51);
  })) << "the machine never ran the case within one second";
  std::this_thread::sleep_for(milliseconds(1500));  // a group commit (every second)
  ASSERT_EQ(::kill(rig.daemon_pid(), SIGKILL), 0);
  rig.Abandon();
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == ReadFile(rig.backing_file()));
}

// The rule costs nothing for files whose last change is over: a file last
// changed seconds ago stays cached across opens.
TEST_P(CoarseTimestamps, W6AFileChangedSecondsAgoStaysCached) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  // Past the file's tick (two seconds) and the allowed clock skew (one).
  std::this_thread::sleep_for(milliseconds(3200));
  const std::string expected = ReadFile(rig.backing_file());
  ASSERT_TRUE(ReadFileDirect(rig.view_file()) == expected);  // promoted
  const uint64_t misses = StatusCounter(rig.view(), "read_misses");
  const uint64_t racy = StatusCounter(rig.view(), "racy_drops");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses) << "reopening missed the cache";
  EXPECT_EQ(StatusCounter(rig.view(), "racy_drops"), racy);
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  const uint64_t misses_after_remount = StatusCounter(rig.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses_after_remount)
      << "the remount came back cold";
}

// Writes 4 KiB at `offset` of the view's file with O_DIRECT (the engine gets it
// as written: no page cache between).
void WriteThroughView(const std::string& path, off_t offset, uint32_t seed) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, 4096), 0);
  const std::string bytes = Pattern(4096, seed);
  std::memcpy(buffer, bytes.data(), bytes.size());
  EXPECT_EQ(::pwrite(fd, buffer, 4096, offset), 4096);
  std::free(buffer);
  ::close(fd);
}

// DESIGN W4 over a network origin ("Warm after a crash" in
// docs/architecture.md): a file written through the view when the daemon is
// killed comes back warm once its last change is out of the racy tick, with
// `change_after_crash` (another program rewriting the first 4 KiB within the
// write lease) served from origin and the rest from the cache.
void ExpectWarmAfterCrash(const Param& param, bool change_after_crash) {
  const auto [mode, origin] = param;
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  std::this_thread::sleep_for(milliseconds(3200));  // past the file's tick
  ASSERT_EQ(ReadFileDirect(rig.view_file()).size(), kFileSize);  // promoted
  const uint64_t cached = StatusCounter(rig.view(), "used_blocks");
  ASSERT_GT(cached, 0u);
  std::this_thread::sleep_for(milliseconds(1500));  // a group commit
  WriteThroughView(rig.view_file(), 8192, 60);
  ASSERT_EQ(::kill(rig.daemon_pid(), SIGKILL), 0);
  rig.Abandon();
  if (change_after_crash) Rewrite(rig.backing_file(), 4096, 61);
  std::this_thread::sleep_for(milliseconds(3200));  // past the last change's tick
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  // The first open compares the file; the blocks the intent log names are
  // compared with origin in the background.
  if (const int fd = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) ::close(fd);
  for (int i = 0; i < 100 && StatusCounter(rig.view(), "used_blocks") < cached; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(StatusCounter(rig.view(), "used_blocks"), cached) << "the file came back cold";
  const uint64_t from_origin = StatusCounter(rig.view(), "bytes_read_from_origin");
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == ReadFile(rig.backing_file()));
  const uint64_t read_from_origin = StatusCounter(rig.view(), "bytes_read_from_origin") - from_origin;
  if (change_after_crash) {
    // The changed sector's block (64 KiB) is read again, nothing else.
    EXPECT_GT(read_from_origin, 0u);
    EXPECT_LE(read_from_origin, 65536u);
  } else {
    EXPECT_EQ(read_from_origin, 0u);
  }
}

TEST_P(CoarseTimestamps, W4AFileBeingWrittenAtACrashComesBackWarm) {
  ExpectWarmAfterCrash(GetParam(), /*change_after_crash=*/false);
}

TEST_P(CoarseTimestamps, W4ASectorChangedAfterACrashIsServedFromOrigin) {
  ExpectWarmAfterCrash(GetParam(), /*change_after_crash=*/true);
}

INSTANTIATE_TEST_SUITE_P(EveryCoarseOrigin, CoarseTimestamps,
                         ::testing::Combine(::testing::Values(Mode::kDirectory, Mode::kImage),
                                            ::testing::Values(Origin::kCoarseTimestamps,
                                                              Origin::kSftp)),
                         ParamName);

}  // namespace
}  // namespace wtcachefs::testing
