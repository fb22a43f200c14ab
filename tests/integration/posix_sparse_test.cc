// SPDX-License-Identifier: Apache-2.0
// Sparse files, fallocate(2) modes and truncation through VIEW leave origin with
// the same size, data, holes and allocation as the same calls on a plain file.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

constexpr off_t kKiB = 1024;
constexpr off_t kMiB = 1024 * kKiB;

// Each test works on "f" opened read-write in the view and in the reference
// directory, applies the same calls to both, then compares.
class posix_sparse : public PosixViewTest {
 protected:
  void SetUp() override {
    PosixViewTest::SetUp();
    view_fd_ = ::open(V("f").c_str(), O_CREAT | O_RDWR, 0644);
    reference_fd_ = ::open(R("f").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(view_fd_, 0);
    ASSERT_GE(reference_fd_, 0);
  }
  void TearDown() override {
    if (view_fd_ >= 0) ::close(view_fd_);
    if (reference_fd_ >= 0) ::close(reference_fd_);
  }

  // Runs `op` on the view fd and on the reference fd; expects the same errno.
  int Both(const std::function<long(int fd)>& op) {
    const int view_errno = ErrnoOf([&] { return op(view_fd_); });
    const int reference_errno = ErrnoOf([&] { return op(reference_fd_); });
    EXPECT_EQ(ErrnoName(view_errno), ErrnoName(reference_errno));
    return view_errno;
  }
  void WriteBoth(off_t offset, const std::string& data) {
    ASSERT_EQ(Both([&](int fd) {
                return ::pwrite(fd, data.data(), data.size(), offset) ==
                               static_cast<ssize_t>(data.size())
                           ? 0
                           : -1;
              }), 0);
  }

  // Size, allocation, bytes and extents: origin equals the reference file, and
  // the view reports what origin holds.
  void ExpectSameFile() {
    ASSERT_EQ(::fsync(view_fd_), 0);
    ASSERT_EQ(::fsync(reference_fd_), 0);
    const struct stat o = LstatOf(O("f"));
    const struct stat r = LstatOf(R("f"));
    const struct stat v = LstatOf(V("f"));
    EXPECT_EQ(o.st_size, r.st_size);
    EXPECT_EQ(o.st_blocks, r.st_blocks);
    EXPECT_EQ(v.st_size, o.st_size);
    EXPECT_EQ(v.st_blocks, o.st_blocks);
    struct stat vf;
    ASSERT_EQ(::fstat(view_fd_, &vf), 0);
    EXPECT_EQ(vf.st_size, o.st_size);
    EXPECT_EQ(vf.st_blocks, o.st_blocks);
    const std::string reference_bytes = ReadFile(R("f"));
    EXPECT_TRUE(ReadFile(O("f")) == reference_bytes) << "origin bytes differ";
    EXPECT_TRUE(ReadFile(V("f")) == reference_bytes) << "view bytes differ";
    const int origin_fd = ::open(O("f").c_str(), O_RDONLY);
    ASSERT_GE(origin_fd, 0);
    EXPECT_EQ(DataMap(origin_fd), DataMap(reference_fd_));
    EXPECT_EQ(DataMap(view_fd_), DataMap(origin_fd));
    ::close(origin_fd);
  }

  int view_fd_ = -1;
  int reference_fd_ = -1;
};

TEST_F(posix_sparse, SeekDataAndSeekHoleMatchOrigin) {
  WriteBoth(1 * kMiB, "data at one MiB");
  WriteBoth(3 * kMiB + 100, std::string(200 * kKiB, 'x'));
  WriteBoth(8 * kMiB, "tail");
  ExpectSameFile();
  const int origin_fd = ::open(O("f").c_str(), O_RDONLY);
  ASSERT_GE(origin_fd, 0);
  for (off_t at = 0; at <= 8 * kMiB + 8; at += 64 * kKiB + 4) {
    for (const int whence : {SEEK_DATA, SEEK_HOLE}) {
      errno = 0;
      const off_t view = ::lseek(view_fd_, at, whence);
      const int view_errno = errno;
      errno = 0;
      const off_t origin = ::lseek(origin_fd, at, whence);
      EXPECT_EQ(view, origin) << "offset " << at << " whence " << whence;
      EXPECT_EQ(view_errno, errno) << "offset " << at << " whence " << whence;
    }
  }
  ::close(origin_fd);
  // Past the end both fail with ENXIO.
  EXPECT_EQ(Both([](int fd) { return ::lseek(fd, 9 * kMiB, SEEK_DATA); }), ENXIO);
  EXPECT_EQ(Both([](int fd) { return ::lseek(fd, 9 * kMiB, SEEK_HOLE); }), ENXIO);
  EXPECT_EQ(Both([](int fd) { return ::lseek(fd, -1, SEEK_DATA); }), ENXIO);
  EXPECT_EQ(DataMap(view_fd_).size(), 3u);
}

TEST_F(posix_sparse, FallocateDefaultExtendsSizeAndAllocatesAsOnOrigin) {
  WriteBoth(0, "head");
  ASSERT_EQ(Both([](int fd) { return ::fallocate(fd, 0, 64 * kKiB, 1 * kMiB); }), 0);
  ExpectSameFile();
  EXPECT_EQ(LstatOf(O("f")).st_size, 64 * kKiB + 1 * kMiB);
  EXPECT_GE(LstatOf(V("f")).st_blocks * 512, 1 * kMiB);
}

TEST_F(posix_sparse, FallocateKeepSizeAllocatesWithoutGrowingAsOnOrigin) {
  WriteBoth(0, std::string(10000, 'k'));
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 * kMiB);
            }), 0);
  ExpectSameFile();
  EXPECT_EQ(LstatOf(V("f")).st_size, 10000);
  EXPECT_GE(LstatOf(V("f")).st_blocks * 512, 2 * kMiB);
}

TEST_F(posix_sparse, PunchHoleZeroesDataAndFreesBlocksAsOnOrigin) {
  WriteBoth(0, std::string(1 * kMiB, 'p'));
  const blkcnt_t before = LstatOf(O("f")).st_blocks;
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 256 * kKiB,
                                 512 * kKiB);
            }), 0);
  // An unaligned punch zeroes the partial blocks at its edges.
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 5000);
            }), 0);
  ExpectSameFile();
  EXPECT_LT(LstatOf(V("f")).st_blocks, before);
  EXPECT_EQ(LstatOf(V("f")).st_size, 1 * kMiB);
  const std::string bytes = ReadFile(V("f"));
  EXPECT_EQ(bytes.substr(256 * kKiB, 512 * kKiB), std::string(512 * kKiB, '\0'));
  EXPECT_EQ(bytes.substr(100, 5000), std::string(5000, '\0'));
  EXPECT_EQ(bytes[99], 'p');
}

TEST_F(posix_sparse, PunchHoleOverDataReadThroughTheViewIsSeenAsZeroes) {
  WriteBoth(0, std::string(256 * kKiB, 'c'));
  // Reading first lets the page cache and the cache engine hold the data.
  EXPECT_EQ(ReadFile(V("f")), std::string(256 * kKiB, 'c'));
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 * kKiB,
                                 64 * kKiB);
            }), 0);
  std::string buffer(64 * kKiB, 'x');
  ASSERT_EQ(::pread(view_fd_, buffer.data(), buffer.size(), 64 * kKiB), 64 * kKiB);
  EXPECT_EQ(buffer, std::string(64 * kKiB, '\0'));
  ExpectSameFile();
}

TEST_F(posix_sparse, ZeroRangeZeroesDataAsOnOrigin) {
  WriteBoth(0, std::string(512 * kKiB, 'z'));
  EXPECT_EQ(ReadFile(V("f")), std::string(512 * kKiB, 'z'));
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_ZERO_RANGE, 100 * kKiB + 3, 200 * kKiB);
            }), 0);
  ASSERT_EQ(Both([](int fd) {
              return ::fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 500 * kKiB,
                                 1 * kMiB);
            }), 0);
  ASSERT_EQ(Both([](int fd) { return ::fallocate(fd, FALLOC_FL_ZERO_RANGE, 1 * kMiB, 4096); }),
            0);
  ExpectSameFile();
  EXPECT_EQ(LstatOf(V("f")).st_size, 1 * kMiB + 4096);
  const std::string bytes = ReadFile(V("f"));
  EXPECT_EQ(bytes.substr(100 * kKiB + 3, 200 * kKiB), std::string(200 * kKiB, '\0'));
  EXPECT_EQ(bytes[100 * kKiB + 2], 'z');
}

TEST_F(posix_sparse, InvalidFallocateModesFailAsOnOrigin) {
  WriteBoth(0, "x");
  EXPECT_EQ(Both([](int fd) { return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096); }),
            EOPNOTSUPP);
  EXPECT_EQ(Both([](int fd) { return ::fallocate(fd, 0, 0, 0); }), EINVAL);
  EXPECT_EQ(Both([](int fd) { return ::fallocate(fd, 0, -1, 10); }), EINVAL);
  ExpectSameFile();
}

TEST_F(posix_sparse, TruncateGrowsWithZeroesAndShrinksAsOnOrigin) {
  WriteBoth(0, "0123456789");
  for (const off_t size : {off_t{4}, off_t{3 * kMiB}, off_t{5000}, off_t{0}, off_t{12345}}) {
    ASSERT_EQ(ExpectSameErrno([size](const std::string& p) {
                return ::truncate(p.c_str(), size);
              }, "f"), 0);
    ExpectSameFile();
    EXPECT_EQ(LstatOf(O("f")).st_size, size);
  }
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) { return ::truncate(p.c_str(), -1); },
                            "f"), EINVAL);
}

TEST_F(posix_sparse, FtruncateGrowsAndShrinksAsOnOrigin) {
  WriteBoth(0, std::string(100 * kKiB, 'q'));
  EXPECT_EQ(ReadFile(V("f")).size(), static_cast<size_t>(100 * kKiB));
  for (const off_t size : {off_t{50 * kKiB + 1}, off_t{2 * kMiB}, off_t{10}}) {
    ASSERT_EQ(Both([size](int fd) { return ::ftruncate(fd, size); }), 0);
    ExpectSameFile();
  }
  // Data after a shrink and regrow reads back as zeroes.
  ASSERT_EQ(Both([](int fd) { return ::ftruncate(fd, 20); }), 0);
  char buffer[20];
  ASSERT_EQ(::pread(view_fd_, buffer, sizeof(buffer), 0), 20);
  EXPECT_EQ(std::string(buffer, 20), std::string(10, 'q') + std::string(10, '\0'));
  // ftruncate needs a descriptor open for writing.
  const int read_only = ::open(V("f").c_str(), O_RDONLY);
  const int reference_read_only = ::open(R("f").c_str(), O_RDONLY);
  EXPECT_EQ(ErrnoOf([&] { return ::ftruncate(read_only, 0); }),
            ErrnoOf([&] { return ::ftruncate(reference_read_only, 0); }));
  EXPECT_EQ(ErrnoOf([&] { return ::ftruncate(read_only, 0); }), EINVAL);
  ::close(read_only);
  ::close(reference_read_only);
  ExpectSameFile();
}

}  // namespace
}  // namespace wtcachefs::testing
