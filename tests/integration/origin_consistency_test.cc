// SPDX-License-Identifier: Apache-2.0
// Origin authority (DESIGN W2, W6) where another program also changes the
// origin: weak cache consistency around every change the view makes, the
// view's own overlapping writes never taken for external ones, O_DIRECT writes
// next to buffered readers, and files held open revalidated. Each case runs in
// directory and image mode, over a local (ext4) origin, over origins that
// cache attributes (bench/slow_origin_fs, attribute timeout 1 s, as sshfs and
// NFS clients do), with fine and with whole-second timestamps, and over a real
// network origin (sshfs through OpenSSH's sftp server): integration/origin_rig.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/origin_rig.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

using std::chrono::milliseconds;

constexpr off_t kExternalOffset = 0;  // what the other program rewrites
constexpr size_t kExternalLength = 64 << 10;
constexpr off_t kOwnOffset = 192 << 10;  // where the view's own change lands

// Changes bytes of `path` in place, as a program writing origin directly. The
// pause first puts the change on another clock tick than the view's last one:
// a change within the same tick of the file system's timestamps, at the same
// size, is invisible to attributes (DESIGN W6 names that bound).
void ChangeBehindTheMount(const std::string& path) {
  std::this_thread::sleep_for(milliseconds(30));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  const std::string bytes = Pattern(kExternalLength, 99);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), kExternalOffset),
            static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

std::string ReadAll(const std::string& path, bool direct) {
  return direct ? ReadFileDirect(path) : ReadFile(path);
}

// Every way the view changes a file's data or attributes (DESIGN W6's list).
enum class Change { kWrite, kTruncate, kAllocate, kPunchHole, kZeroRange, kCopyInto, kUtimens };

std::string ChangeName(Change c) {
  switch (c) {
    case Change::kWrite: return "Write";
    case Change::kTruncate: return "Truncate";
    case Change::kAllocate: return "Fallocate";
    case Change::kPunchHole: return "PunchHole";
    case Change::kZeroRange: return "ZeroRange";
    case Change::kCopyInto: return "CopyFileRange";
    case Change::kUtimens: return "Utimens";
  }
  return "?";
}

// Makes change `c` through `fd`, an fd of the view's file; away from the range
// the other program rewrote.
void MakeChange(Change c, int fd) {
  switch (c) {
    case Change::kWrite: {
      const std::string data(4096, 'w');
      ASSERT_EQ(::pwrite(fd, data.data(), data.size(), kOwnOffset), 4096);
      break;
    }
    case Change::kTruncate:
      ASSERT_EQ(::ftruncate(fd, kFileSize + (64 << 10)), 0) << std::strerror(errno);
      break;
    case Change::kAllocate:
      ASSERT_EQ(::fallocate(fd, 0, kFileSize, 64 << 10), 0) << std::strerror(errno);
      break;
    case Change::kPunchHole:
      ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kOwnOffset, 4096), 0)
          << std::strerror(errno);
      break;
    case Change::kZeroRange:
      ASSERT_EQ(::fallocate(fd, FALLOC_FL_ZERO_RANGE, kOwnOffset, 4096), 0)
          << std::strerror(errno);
      break;
    case Change::kCopyInto: {
      loff_t in = 128 << 10;
      loff_t out = kOwnOffset;
      ASSERT_EQ(::copy_file_range(fd, &in, fd, &out, 4096, 0), 4096) << std::strerror(errno);
      break;
    }
    case Change::kUtimens: {
      const timespec times[2] = {{1'000'000, 0}, {1'000'000, 0}};
      ASSERT_EQ(::futimens(fd, times), 0) << std::strerror(errno);
      break;
    }
  }
}

using CaseParam = std::tuple<Mode, Origin, Change>;
std::string CaseName(const ::testing::TestParamInfo<CaseParam>& param_info) {
  return ModeName(std::get<0>(param_info.param)) + OriginName(std::get<1>(param_info.param)) +
         ChangeName(std::get<2>(param_info.param));
}

class WeakCacheConsistency : public ::testing::TestWithParam<CaseParam> {};

// NFSv3's rule: a change made through the view to a file that was changed
// behind the mount since the view last saw it must not adopt that change as
// its own. Every later read, live and after a remount, returns origin's bytes.
TEST_P(WeakCacheConsistency, W6ChangeThroughTheViewNeverAdoptsAnExternalChange) {
  const auto [mode, origin, change] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  const int fd = ::open(rig.view_file().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string warm(kFileSize, '\0');
  ASSERT_EQ(::pread(fd, warm.data(), warm.size(), 0), static_cast<ssize_t>(kFileSize));
  ASSERT_TRUE(ReadFileDirect(rig.view_file()) == warm);  // served from the cache now

  ChangeBehindTheMount(rig.backing_file());
  MakeChange(change, fd);
  ::close(fd);

  const std::string expected = ReadFile(rig.backing_file());
  ASSERT_TRUE(expected.substr(0, kExternalLength) == Pattern(kExternalLength, 99));
  EXPECT_TRUE(ReadAll(rig.view_file(), /*direct=*/true) == expected) << "live, from the daemon";
  EXPECT_TRUE(ReadAll(rig.view_file(), /*direct=*/false) == expected) << "live, buffered";
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  EXPECT_TRUE(ReadAll(rig.view_file(), /*direct=*/true) == expected) << "after a remount";
  EXPECT_TRUE(ReadAll(rig.view_file(), /*direct=*/false) == expected) << "after a remount";
}

INSTANTIATE_TEST_SUITE_P(
    EveryChange, WeakCacheConsistency,
    ::testing::Combine(::testing::Values(Mode::kDirectory, Mode::kImage),
                       ::testing::Values(Origin::kLocal, Origin::kAttributeCaching),
                       ::testing::Values(Change::kWrite, Change::kTruncate, Change::kAllocate,
                                         Change::kPunchHole, Change::kZeroRange,
                                         Change::kCopyInto, Change::kUtimens)),
    CaseName);
// Over whole-second timestamps the change behind the mount usually lands in
// the tick of the view's last look at the file, where only the racy rule
// (engine/racy_fingerprint.h) tells it from no change.
INSTANTIATE_TEST_SUITE_P(
    CoarseTimestamps, WeakCacheConsistency,
    ::testing::Combine(::testing::Values(Mode::kDirectory, Mode::kImage),
                       ::testing::Values(Origin::kCoarseTimestamps),
                       ::testing::Values(Change::kWrite, Change::kTruncate, Change::kAllocate,
                                         Change::kPunchHole, Change::kZeroRange,
                                         Change::kCopyInto, Change::kUtimens)),
    CaseName);
// SFTP has no fallocate and no copy_file_range (network_origin_test checks
// their errors); the changes it has.
INSTANTIATE_TEST_SUITE_P(
    Sftp, WeakCacheConsistency,
    ::testing::Combine(::testing::Values(Mode::kDirectory, Mode::kImage),
                       ::testing::Values(Origin::kSftp),
                       ::testing::Values(Change::kWrite, Change::kTruncate, Change::kUtimens)),
    CaseName);

using SetupParam = std::tuple<Mode, Origin>;
std::string SetupName(const ::testing::TestParamInfo<SetupParam>& param_info) {
  return ModeName(std::get<0>(param_info.param)) + OriginName(std::get<1>(param_info.param));
}
const auto kEverySetup = ::testing::Combine(
    ::testing::Values(Mode::kDirectory, Mode::kImage),
    ::testing::Values(Origin::kLocal, Origin::kAttributeCaching, Origin::kCoarseTimestamps,
                      Origin::kSftp));
// Origins whose timestamps show every change after a stat. Over coarse ones
// the view's own writes stay unvouched until the next open or revalidation
// drops them (coarse_timestamps_test states that promise).
const auto kFineTimestampSetups =
    ::testing::Combine(::testing::Values(Mode::kDirectory, Mode::kImage),
                       ::testing::Values(Origin::kLocal, Origin::kAttributeCaching));

class OwnChanges : public ::testing::TestWithParam<SetupParam> {};

// The converse: the view's own O_DIRECT writes, many at once from several
// threads (a VM's queue), followed by an open and a metadata change, never
// look external: nothing cached is dropped, and the file stays warm.
TEST_P(OwnChanges, W6OverlappingWritesThroughTheViewNeverDropTheCache) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  ASSERT_EQ(ReadFileDirect(rig.view_file()).size(), kFileSize);  // every block cached
  const uint64_t invalidations = StatusCounter(rig.view(), "invalidations");
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      const int fd = ::open(rig.view_file().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
      if (fd < 0) {
        failed = true;
        return;
      }
      void* buffer = nullptr;
      if (::posix_memalign(&buffer, 4096, 4096) != 0) std::abort();
      std::memset(buffer, 'a' + t, 4096);
      std::mt19937 random(static_cast<unsigned>(t));
      for (int i = 0; i < 300; ++i) {
        const off_t offset = static_cast<off_t>(random() % (kFileSize / 4096)) * 4096;
        if (::pwrite(fd, buffer, 4096, offset) != 4096) failed = true;
      }
      std::free(buffer);
      ::close(fd);
    });
  }
  // Opens and attribute changes while the writes run.
  for (int i = 0; i < 20; ++i) {
    const int fd = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::chmod(rig.view_file().c_str(), i % 2 ? 0644 : 0600), 0);
  }
  for (std::thread& w : writers) w.join();
  ASSERT_FALSE(failed);
  const std::string expected = ReadFile(rig.backing_file());
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "invalidations"), invalidations)
      << "the view's own writes were taken for a change behind the mount";
  ASSERT_TRUE(rig.Remount()) << rig.failure();
  const uint64_t misses = StatusCounter(rig.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses) << "the remount came back cold";
}

class OwnRenames : public ::testing::TestWithParam<Origin> {};

// A rename through the view moves the file's ctime on origin; the cache keeps
// the file (directory mode: an image view's one name cannot be renamed).
TEST_P(OwnRenames, W6ARenameThroughTheViewKeepsTheCache) {
  OriginRig rig(Mode::kDirectory, GetParam());
  ASSERT_RIG_READY(rig);
  const std::string expected = ReadFileDirect(rig.view_file());  // every block cached
  const uint64_t invalidations = StatusCounter(rig.view(), "invalidations");
  const std::string renamed = rig.view() + "/renamed";
  std::this_thread::sleep_for(milliseconds(30));  // a ctime of its own
  ASSERT_EQ(::rename(rig.view_file().c_str(), renamed.c_str()), 0) << std::strerror(errno);
  const uint64_t misses = StatusCounter(rig.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(renamed) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses) << "the rename dropped the cache";
  EXPECT_EQ(StatusCounter(rig.view(), "invalidations"), invalidations);
}

// Unlinking one of a file's links through the view moves its ctime (the link
// count): an open by another link keeps the cache.
TEST_P(OwnRenames, W6UnlinkingAnotherLinkThroughTheViewKeepsTheCache) {
  OriginRig rig(Mode::kDirectory, GetParam());
  ASSERT_RIG_READY(rig);
  const std::string other = rig.view() + "/other-link";
  ASSERT_EQ(::link(rig.view_file().c_str(), other.c_str()), 0) << std::strerror(errno);
  const std::string expected = ReadFileDirect(rig.view_file());  // every block cached
  const uint64_t invalidations = StatusCounter(rig.view(), "invalidations");
  std::this_thread::sleep_for(milliseconds(30));  // a ctime of its own
  ASSERT_EQ(::unlink(other.c_str()), 0) << std::strerror(errno);
  const uint64_t misses = StatusCounter(rig.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses) << "the unlink dropped the cache";
  EXPECT_EQ(StatusCounter(rig.view(), "invalidations"), invalidations);
}

// A rename over one of a file's links takes that link away: the file keeps its
// cache under its other name.
TEST_P(OwnRenames, W6ARenameOverAnotherLinkThroughTheViewKeepsTheCache) {
  OriginRig rig(Mode::kDirectory, GetParam());
  ASSERT_RIG_READY(rig);
  const std::string other = rig.view() + "/other-link";
  const std::string newcomer = rig.view() + "/newcomer";
  ASSERT_EQ(::link(rig.view_file().c_str(), other.c_str()), 0) << std::strerror(errno);
  WriteFile(newcomer, "new");
  const std::string expected = ReadFileDirect(rig.view_file());  // every block cached
  const uint64_t invalidations = StatusCounter(rig.view(), "invalidations");
  std::this_thread::sleep_for(milliseconds(30));  // a ctime of its own
  ASSERT_EQ(::rename(newcomer.c_str(), other.c_str()), 0) << std::strerror(errno);
  const uint64_t misses = StatusCounter(rig.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == expected);
  EXPECT_EQ(StatusCounter(rig.view(), "read_misses"), misses) << "the rename dropped the cache";
  EXPECT_EQ(StatusCounter(rig.view(), "invalidations"), invalidations);
}

// The view's own buffered writes leave the kernel's page cache of the file in
// place, also once the kernel has fetched the attributes they changed: the
// file is read again from memory, not through the daemon.
TEST_P(OwnChanges, W6WritesThroughTheViewKeepTheKernelsPageCache) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  const int fd = ::open(rig.view_file().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string got(kFileSize, '\0');
  ASSERT_EQ(::pread(fd, got.data(), kFileSize, 0), static_cast<ssize_t>(kFileSize));
  const auto read_by_daemon = [&] {
    return StatusCounter(rig.view(), "bytes_read_from_cache") +
           StatusCounter(rig.view(), "bytes_read_from_origin");
  };
  const uint64_t before = read_by_daemon();
  std::string expected = ReadFile(rig.backing_file());
  for (int i = 0; i < 8; ++i) {
    const std::string bytes = Pattern(4096, 40 + i);
    const off_t offset = static_cast<off_t>(i) * 24576;
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), offset), 4096);
    expected.replace(static_cast<size_t>(offset), bytes.size(), bytes);
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);  // the kernel fetches the changed attributes
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(::pread(fd, got.data(), kFileSize, 0), static_cast<ssize_t>(kFileSize));
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(read_by_daemon(), before) << "the kernel dropped its page cache of the file";
  ::close(fd);
  EXPECT_TRUE(ReadFile(rig.backing_file()) == expected);
}

INSTANTIATE_TEST_SUITE_P(FineTimestamps, OwnChanges, kFineTimestampSetups, SetupName);
INSTANTIATE_TEST_SUITE_P(
    DirectoryMode, OwnRenames, ::testing::Values(Origin::kLocal, Origin::kAttributeCaching),
    [](const ::testing::TestParamInfo<Origin>& param_info) {
      return OriginName(param_info.param);
    });

class DirectWrites : public ::testing::TestWithParam<SetupParam> {};

// W2 for the mix a VM host runs: qemu writes the image with O_DIRECT (here
// synchronous and through io_uring, which the kernel completes asynchronously)
// while other programs read it buffered. Right after each write returns, a
// fresh buffered open reads the new bytes.
TEST_P(DirectWrites, W2AnAcknowledgedODirectWriteIsSeenByEveryLaterBufferedRead) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  constexpr size_t kSize = 640 << 10;
  ASSERT_EQ(::truncate(rig.view_file().c_str(), kSize), 0);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&, i] {
      std::string buffer(kSize, '\0');
      int fd = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC);
      while (!stop) {
        if (i == 1) {  // one reader reopens, one keeps its descriptor
          ::close(fd);
          fd = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC);
        }
        (void)::pread(fd, buffer.data(), kSize, 0);
      }
      ::close(fd);
    });
  }
  const int fd = ::open(rig.view_file().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  io_uring ring;
  ASSERT_EQ(::io_uring_queue_init(4, &ring, 0), 0);
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, kSize), 0);
  std::string got(kSize, '\0');
  int stale_sync = 0;
  int stale_async = 0;
  constexpr int kRounds = 600;
  for (int round = 0; round < kRounds; ++round) {
    std::memset(buffer, 1 + round % 250, kSize);
    const bool async = round % 2 == 1;
    if (async) {
      io_uring_sqe* sqe = ::io_uring_get_sqe(&ring);
      ::io_uring_prep_write(sqe, fd, buffer, kSize, 0);
      ASSERT_EQ(::io_uring_submit(&ring), 1);
      io_uring_cqe* cqe = nullptr;
      ASSERT_EQ(::io_uring_wait_cqe(&ring, &cqe), 0);
      ASSERT_EQ(cqe->res, static_cast<int>(kSize));
      ::io_uring_cqe_seen(&ring, cqe);
    } else {
      ASSERT_EQ(::pwrite(fd, buffer, kSize, 0), static_cast<ssize_t>(kSize));
    }
    const int reader = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    const ssize_t n = ::pread(reader, got.data(), kSize, 0);
    ::close(reader);
    if (n != static_cast<ssize_t>(kSize) || std::memcmp(got.data(), buffer, kSize) != 0) {
      ++(async ? stale_async : stale_sync);
    }
  }
  stop = true;
  for (std::thread& r : readers) r.join();
  ::io_uring_queue_exit(&ring);
  std::free(buffer);
  ::close(fd);
  EXPECT_EQ(stale_sync, 0) << "of " << kRounds / 2 << " synchronous O_DIRECT writes";
  EXPECT_EQ(stale_async, 0) << "of " << kRounds / 2 << " io_uring O_DIRECT writes";
}

INSTANTIATE_TEST_SUITE_P(EverySetup, DirectWrites, kEverySetup, SetupName);

class Revalidation : public ::testing::TestWithParam<SetupParam> {};

// A file held open sees a change made behind the mount once the revalidation
// interval (default: the attribute timeout, 1 s) has passed, buffered and
// O_DIRECT alike, as a local file system shows it at once and NFS within its
// attribute timeout.
TEST_P(Revalidation, W6AFileHeldOpenSeesAnExternalChangeAfterTheInterval) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  HeldViewFile held(rig.view_file());
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held.ReadBoth());

  ChangeBehindTheMount(rig.backing_file());
  std::this_thread::sleep_for(milliseconds(1300));
  held.ExpectBothServe(ReadFile(rig.backing_file()));
}

// Reads the kernel serves from its page cache never reach the daemon: the
// sweep of open files finds the change all the same.
TEST_P(Revalidation, W6AFileReadOnlyFromThePageCacheSeesAnExternalChangeAfterTheInterval) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin);
  ASSERT_RIG_READY(rig);
  const int buffered = ::open(rig.view_file().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(buffered, 0);
  std::string got(kFileSize, '\0');
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_EQ(::pread(buffered, got.data(), kFileSize, 0), static_cast<ssize_t>(kFileSize));
  }
  ChangeBehindTheMount(rig.backing_file());
  std::this_thread::sleep_for(milliseconds(1300));
  ASSERT_EQ(::pread(buffered, got.data(), kFileSize, 0), static_cast<ssize_t>(kFileSize));
  EXPECT_TRUE(got == ReadFile(rig.backing_file()));
  ::close(buffered);
}

// --revalidate 0 keeps close-to-open: the held file keeps serving what it
// cached, and a new open sees the change.
TEST_P(Revalidation, W6RevalidateZeroChecksOnlyAtOpen) {
  const auto [mode, origin] = GetParam();
  OriginRig rig(mode, origin, {"--revalidate", "0"});
  ASSERT_RIG_READY(rig);
  const int direct = ::open(rig.view_file().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(direct, 0);
  void* aligned = nullptr;
  ASSERT_EQ(::posix_memalign(&aligned, 4096, kFileSize), 0);
  ASSERT_EQ(::pread(direct, aligned, kFileSize, 0), static_cast<ssize_t>(kFileSize));
  const std::string before(static_cast<char*>(aligned), kFileSize);
  ChangeBehindTheMount(rig.backing_file());
  std::this_thread::sleep_for(milliseconds(1300));
  ASSERT_EQ(::pread(direct, aligned, kFileSize, 0), static_cast<ssize_t>(kFileSize));
  EXPECT_TRUE(std::memcmp(aligned, before.data(), kFileSize) == 0);
  EXPECT_TRUE(ReadFileDirect(rig.view_file()) == ReadFile(rig.backing_file()));
  std::free(aligned);
  ::close(direct);
}

INSTANTIATE_TEST_SUITE_P(EverySetup, Revalidation, kEverySetup, SetupName);

}  // namespace
}  // namespace wtcachefs::testing
