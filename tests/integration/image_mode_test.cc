// SPDX-License-Identifier: Apache-2.0
// Image mode on a real mount (DESIGN §1): ORIGIN is one image file or a block
// device (a loop device here), VIEW holds exactly that file, and its data goes
// through the cache engine at every alignment qemu uses, with discards and
// resizes reaching origin.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "cli/exit_codes.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// A buffer aligned for O_DIRECT.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes) {
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, bytes == 0 ? 4096 : bytes) == 0) {
      data.reset(static_cast<char*>(p));
    }
  }
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data;
};

// pwrite / pread of the whole range, with O_DIRECT when `direct`; the errno on failure.
int WriteAt(const std::string& path, off_t offset, const std::string& bytes, bool direct) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0) return errno;
  AlignedBuffer buffer(bytes.size());
  std::memcpy(buffer.data.get(), bytes.data(), bytes.size());
  const ssize_t n = ::pwrite(fd, buffer.data.get(), bytes.size(), offset);
  const int error = n < 0 ? errno : (static_cast<size_t>(n) == bytes.size() ? 0 : EIO);
  ::close(fd);
  return error;
}

std::string ReadAt(const std::string& path, off_t offset, size_t length, bool direct) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return {};
  }
  AlignedBuffer buffer(length);
  const ssize_t n = ::pread(fd, buffer.data.get(), length, offset);
  ::close(fd);
  if (n < 0) {
    ADD_FAILURE() << "pread " << path << " at " << offset << ": " << std::strerror(errno);
    return {};
  }
  return std::string(buffer.data.get(), static_cast<size_t>(n));
}

off_t SizeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (const dirent* entry = ::readdir(stream)) names.insert(entry->d_name);
  ::closedir(stream);
  return names;
}

std::string KindName(const ::testing::TestParamInfo<ImageKind>& info) {
  return info.param == ImageKind::kFile ? "ImageFile" : "LoopDevice";
}

class ImageModeTest : public ::testing::TestWithParam<ImageKind> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image_.setup_failure().empty()) << image_.setup_failure();
    ASSERT_TRUE(image_.Mount()) << image_.failure();
  }

  // The same bytes through VIEW and straight from ORIGIN.
  void ExpectViewEqualsOrigin(off_t offset, size_t length) {
    const std::string from_view = ReadAt(image_.view_file(), offset, length, false);
    const std::string from_origin = ReadAt(image_.origin(), offset, length, false);
    ASSERT_EQ(from_view.size(), from_origin.size()) << "at " << offset;
    EXPECT_TRUE(from_view == from_origin) << "VIEW and ORIGIN differ in [" << offset << ", +"
                                          << length << ")";
  }

  ImageMount image_{GetParam(), 64 * kMiB};
};

TEST_P(ImageModeTest, ViewHoldsExactlyTheOriginAsARegularFile) {
  const std::string name = image_.view_file().substr(image_.view().size() + 1);
  EXPECT_EQ(Listing(image_.view()), (std::set<std::string>{".", "..", name}));
  struct stat st;
  ASSERT_EQ(::stat(image_.view_file().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "a block device is shown as a regular file";
  EXPECT_EQ(st.st_size, static_cast<off_t>(64 * kMiB));
  EXPECT_EQ(::access((image_.view() + "/other").c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOENT);

  // The directory holds the image and nothing else.
  const std::string other = image_.view() + "/other";
  errno = 0;
  EXPECT_EQ(::open(other.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::mkdir(other.c_str(), 0755), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::symlink("x", other.c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::link(image_.view_file().c_str(), other.c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::rename(image_.view_file().c_str(), other.c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::unlink(image_.view_file().c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::access(image_.origin().c_str(), F_OK), 0) << "origin must survive";
}

TEST_P(ImageModeTest, DirectIoAtQemuAlignmentsMatchesOrigin) {
  const std::string& file = image_.view_file();
  uint32_t seed = 1;
  for (const size_t alignment : {size_t{512}, size_t{4096}}) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    // Single sectors, runs inside one cache block, and runs across block edges.
    for (const size_t sectors : {size_t{1}, size_t{3}, size_t{129}}) {
      const off_t offset = static_cast<off_t>(alignment * (7 + 131 * seed));
      const std::string bytes = Pattern(alignment * sectors, seed++);
      ASSERT_EQ(WriteAt(file, offset, bytes, /*direct=*/true), 0)
          << std::strerror(WriteAt(file, offset, bytes, true));
      EXPECT_TRUE(ReadAt(file, offset, bytes.size(), /*direct=*/true) == bytes);
      EXPECT_TRUE(ReadAt(image_.origin(), offset, bytes.size(), /*direct=*/true) == bytes)
          << "the write did not reach origin";
      // Again, now from the cache, and straddling what is cached and what is not.
      EXPECT_TRUE(ReadAt(file, offset, bytes.size(), /*direct=*/true) == bytes);
      ExpectViewEqualsOrigin(offset - static_cast<off_t>(alignment),
                             bytes.size() + 2 * alignment);
    }
  }
  EXPECT_GT(StatusCounter(image_.view(), "read_hits"), 0u);
  ExpectViewEqualsOrigin(0, 4 * kMiB);
}

TEST_P(ImageModeTest, DiscardReachesOriginAndDropsCachedBlocks) {
  const std::string& file = image_.view_file();
  const std::string data = Pattern(kMiB, 7);
  ASSERT_EQ(WriteAt(file, 0, data, true), 0);
  ASSERT_TRUE(ReadAt(file, 0, kMiB, true) == data);
  const uint64_t invalidations = StatusCounter(image_.view(), "invalidations");

  const int fd = ::open(file.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 128 << 10, 128 << 10), 0)
      << std::strerror(errno);
  EXPECT_EQ(::fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 512 << 10, 68 << 10), 0)
      << std::strerror(errno);
  ::close(fd);

  std::string expected = data;
  std::memset(expected.data() + (128 << 10), 0, 128 << 10);
  std::memset(expected.data() + (512 << 10), 0, 68 << 10);
  EXPECT_TRUE(ReadAt(file, 0, kMiB, true) == expected) << "VIEW serves discarded data";
  EXPECT_TRUE(ReadAt(image_.origin(), 0, kMiB, true) == expected) << "origin kept it";
  EXPECT_GT(StatusCounter(image_.view(), "invalidations"), invalidations);
  EXPECT_EQ(SizeOf(file), static_cast<off_t>(64 * kMiB));
}

TEST_P(ImageModeTest, SeekDataAndHoleReportOriginsLayout) {
  ASSERT_EQ(WriteAt(image_.view_file(), kMiB, Pattern(256 << 10, 3), true), 0);
  ASSERT_EQ(WriteAt(image_.view_file(), 9 * kMiB, Pattern(64 << 10, 4), true), 0);
  const int view_fd = ::open(image_.view_file().c_str(), O_RDONLY | O_CLOEXEC);
  const int origin_fd = ::open(image_.origin().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(view_fd, 0);
  ASSERT_GE(origin_fd, 0);
  for (const off_t offset : {off_t{0}, off_t(kMiB), off_t(kMiB + 4096), off_t(2 * kMiB),
                             off_t(9 * kMiB + 100), off_t(40 * kMiB)}) {
    for (const int whence : {SEEK_DATA, SEEK_HOLE}) {
      errno = 0;
      const off_t from_origin = ::lseek(origin_fd, offset, whence);
      const int origin_errno = errno;
      errno = 0;
      const off_t from_view = ::lseek(view_fd, offset, whence);
      EXPECT_EQ(from_view, from_origin) << (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE")
                                        << " from " << offset;
      EXPECT_EQ(errno, origin_errno);
    }
  }
  ::close(view_fd);
  ::close(origin_fd);
}

TEST_P(ImageModeTest, RemountComesBackWarmWithTheSameBytes) {
  const std::string data = Pattern(2 * kMiB, 11);
  ASSERT_EQ(WriteAt(image_.view_file(), 3 * kMiB, data, true), 0);
  ASSERT_TRUE(image_.Unmount()) << "unclean stop";
  ASSERT_TRUE(image_.Mount()) << image_.failure();
  const uint64_t hits = StatusCounter(image_.view(), "read_hits");
  EXPECT_TRUE(ReadAt(image_.view_file(), 3 * kMiB, data.size(), true) == data);
  EXPECT_GT(StatusCounter(image_.view(), "read_hits"), hits) << "the cache came back cold";
  ExpectViewEqualsOrigin(0, 8 * kMiB);
}

// An image file's own behaviour: sparseness, resizing, replacement.
class ImageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image_.setup_failure().empty()) << image_.setup_failure();
    ASSERT_TRUE(image_.Mount()) << image_.failure();
  }
  std::string ViewContent() { return ReadFile(image_.view_file()); }
  std::string OriginContent() { return ReadFile(image_.origin()); }

  ImageMount image_{ImageKind::kFile, 16 * kMiB};
};

TEST_F(ImageFileTest, SparseOriginStaysSparse) {
  ASSERT_EQ(::truncate(image_.origin().c_str(), 1024 * static_cast<off_t>(kMiB)), 0);
  ASSERT_EQ(WriteAt(image_.view_file(), 500 * kMiB, Pattern(kMiB, 5), true), 0);
  // Reading holes through the view (and caching them) allocates nothing on origin.
  for (off_t at = 0; at < 1024 * static_cast<off_t>(kMiB); at += 64 * kMiB) {
    EXPECT_TRUE(ReadAt(image_.view_file(), at, kMiB, true) == std::string(kMiB, '\0'))
        << "at " << at;
  }
  struct stat st;
  ASSERT_EQ(::stat(image_.origin().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1024 * static_cast<off_t>(kMiB));
  EXPECT_LE(st.st_blocks * 512, 2 * static_cast<off_t>(kMiB)) << "origin is no longer sparse";
  struct stat through_view;
  ASSERT_EQ(::stat(image_.view_file().c_str(), &through_view), 0);
  EXPECT_EQ(through_view.st_blocks, st.st_blocks) << "VIEW must report origin's allocation";
}

// Runs change(fd) on `path` opened for writing, in a child that has become
// nobody (not in group root). Returns its errno (0 on success), or -1 when the
// child could not become nobody or died.
int ErrnoAsNobody(const std::string& path, const std::function<long(int)>& change) {
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(255);
    }
    const int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0) ::_exit(errno);
    const int result = change(fd) < 0 ? errno : 0;
    ::_exit(result);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

TEST_F(ImageFileTest, DataChangesByAnotherUserDropPrivilegeBitsAsOnOrigin) {
  // Another user reaches the view only with allow_other.
  ASSERT_TRUE(image_.Unmount());
  ASSERT_EQ(::chmod(image_.dir().path().c_str(), 0755), 0);
  ASSERT_TRUE(image_.Mount({"-o", "allow_other"})) << image_.failure();
  const std::string reference = image_.dir().Sub("reference", false);
  WriteFile(reference, Pattern(kMiB, 3));
  struct Change {
    const char* name;
    std::function<long(int)> call;
  };
  const std::vector<Change> changes = {
      {"write", [](int fd) { return static_cast<long>(::pwrite(fd, "x", 1, 4096)); }},
      {"fallocate", [](int fd) { return static_cast<long>(::fallocate(fd, 0, 0, 65536)); }},
      {"punch hole",
       [](int fd) {
         return static_cast<long>(
             ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
       }},
      {"zero range",
       [](int fd) { return static_cast<long>(::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096)); }},
  };
  for (const Change& change : changes) {
    SCOPED_TRACE(change.name);
    for (const std::string& p : {image_.origin(), reference}) {
      ASSERT_EQ(::chown(p.c_str(), 0, 0), 0);
      ASSERT_EQ(::chmod(p.c_str(), 02666), 0);
    }
    ASSERT_EQ(ErrnoAsNobody(image_.view_file(), change.call), 0);
    ASSERT_EQ(ErrnoAsNobody(reference, change.call), 0);
    struct stat origin_st, reference_st, view_st;
    ASSERT_EQ(::stat(image_.origin().c_str(), &origin_st), 0);
    ASSERT_EQ(::stat(reference.c_str(), &reference_st), 0);
    ASSERT_EQ(::stat(image_.view_file().c_str(), &view_st), 0);
    EXPECT_EQ(reference_st.st_mode & 07777, 0666u) << "ext4 drops setgid for a non-member";
    EXPECT_EQ(origin_st.st_mode & 07777, reference_st.st_mode & 07777);
    EXPECT_EQ(view_st.st_mode & 07777, origin_st.st_mode & 07777);
  }
}

TEST_F(ImageFileTest, ResizeThroughViewKeepsOriginEqual) {
  ASSERT_EQ(WriteAt(image_.view_file(), 0, Pattern(16 * kMiB, 9), false), 0);
  ASSERT_EQ(ViewContent().size(), 16 * kMiB);  // now cached
  ASSERT_EQ(::truncate(image_.view_file().c_str(), 5 * static_cast<off_t>(kMiB) + 1000), 0);
  EXPECT_EQ(SizeOf(image_.origin()), 5 * static_cast<off_t>(kMiB) + 1000);
  EXPECT_TRUE(ViewContent() == OriginContent());
  ASSERT_EQ(::truncate(image_.view_file().c_str(), 40 * static_cast<off_t>(kMiB)), 0);
  EXPECT_EQ(SizeOf(image_.origin()), 40 * static_cast<off_t>(kMiB));
  const std::string grown = ViewContent();
  EXPECT_TRUE(grown == OriginContent());
  EXPECT_TRUE(grown.substr(5 * kMiB + 1000, kMiB) == std::string(kMiB, '\0'))
      << "the grown tail must read as zeros, not as the cached old data";
}

TEST_F(ImageFileTest, ResizeOnOriginWhileUnmountedIsSeen) {
  ASSERT_EQ(WriteAt(image_.view_file(), 0, Pattern(16 * kMiB, 13), false), 0);
  ASSERT_EQ(ViewContent().size(), 16 * kMiB);
  ASSERT_TRUE(image_.Unmount());
  // Shrink, then grow with new data where the old blocks were cached.
  ASSERT_EQ(::truncate(image_.origin().c_str(), 3 * static_cast<off_t>(kMiB)), 0);
  ASSERT_EQ(::truncate(image_.origin().c_str(), 20 * static_cast<off_t>(kMiB)), 0);
  ASSERT_EQ(WriteAt(image_.origin(), 8 * kMiB, Pattern(kMiB, 14), false), 0);
  ASSERT_TRUE(image_.Mount()) << image_.failure();
  EXPECT_EQ(SizeOf(image_.view_file()), 20 * static_cast<off_t>(kMiB));
  EXPECT_TRUE(ViewContent() == OriginContent());
}

TEST_F(ImageFileTest, ImageReplacedBehindTheMountIsSeen) {
  ASSERT_EQ(WriteAt(image_.view_file(), 0, Pattern(4 * kMiB, 15), false), 0);
  ASSERT_EQ(ViewContent().size(), 16 * kMiB);
  const std::string replacement = image_.dir().Sub("new.img", false);
  WriteFile(replacement, Pattern(6 * kMiB, 16));
  ASSERT_EQ(::rename(replacement.c_str(), image_.origin().c_str()), 0);
  // The kernel may keep the old attributes for attr_timeout (1 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(ViewContent() == Pattern(6 * kMiB, 16));
}

TEST_F(ImageFileTest, ImageReplacedWhileUnmountedKeepsItsCache) {
  ASSERT_EQ(WriteAt(image_.view_file(), 0, Pattern(4 * kMiB, 17), false), 0);
  ASSERT_TRUE(image_.Unmount());
  // A restore from backup: a new file (a new inode) under the same name.
  const std::string restored = image_.dir().Sub("restored.img", false);
  WriteFile(restored, Pattern(5 * kMiB, 18));
  ASSERT_EQ(::rename(restored.c_str(), image_.origin().c_str()), 0);
  ASSERT_TRUE(image_.Mount()) << image_.failure();
  EXPECT_TRUE(ViewContent() == Pattern(5 * kMiB, 18));
}

TEST_F(ImageFileTest, CacheOfAnotherImageIsRefusedUntilReset) {
  ASSERT_TRUE(image_.Unmount());
  const std::string other = image_.dir().Sub("other.img", false);
  WriteFile(other, Pattern(kMiB, 19));
  std::vector<std::string> argv = {WtcachefsBinary(), other, image_.cache(), image_.view(),
                                   "-f", "--cache-size", "64M"};
  const CommandResult refused = RunCommand(argv, std::chrono::seconds(20));
  EXPECT_EQ(refused.exit_code, kExitBadPath);
  EXPECT_NE(refused.err.find("--reset-cache"), std::string::npos) << refused.err;
  EXPECT_FALSE(IsMountPoint(image_.view()));
}

// A block device's own behaviour: exclusive use, fixed size, changes while unmounted.
class LoopDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(image_.setup_failure().empty()) << image_.setup_failure();
    ASSERT_TRUE(image_.Mount()) << image_.failure();
  }
  ImageMount image_{ImageKind::kLoopDevice, 32 * kMiB};
};

TEST_F(LoopDeviceTest, DeviceInUseIsRefusedClearly) {
  const std::string other_cache = image_.dir().Sub("other-cache");
  const std::string other_view = image_.dir().Sub("other-view");
  const CommandResult r = RunCommand({WtcachefsBinary(), image_.origin(), other_cache,
                                      other_view, "-f", "--cache-size", "64M"},
                                     std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("'" + image_.origin() + "' is in use"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMountPoint(other_view));
}

TEST_F(LoopDeviceTest, DeviceSizeIsFixed) {
  errno = 0;
  EXPECT_EQ(::truncate(image_.view_file().c_str(), 16 * static_cast<off_t>(kMiB)), -1);
  EXPECT_EQ(errno, EINVAL) << "as a truncate of the device itself";
  EXPECT_EQ(SizeOf(image_.view_file()), 32 * static_cast<off_t>(kMiB));
}

TEST_F(LoopDeviceTest, ChangedSizeAndDataAreSeenAfterRemount) {
  const std::string data = Pattern(4 * kMiB, 21);
  ASSERT_EQ(WriteAt(image_.view_file(), 0, data, true), 0);
  ASSERT_TRUE(ReadAt(image_.view_file(), 0, data.size(), true) == data);  // cached
  ASSERT_TRUE(image_.Unmount());
  // While unmounted: new data straight to the device, then the device grows.
  const std::string changed = Pattern(kMiB, 22);
  ASSERT_EQ(WriteAt(image_.origin(), kMiB, changed, true), 0);
  ASSERT_EQ(::truncate(image_.backing_file().c_str(), 48 * static_cast<off_t>(kMiB)), 0);
  ASSERT_TRUE(image_.loop_device()->RefreshSize());
  ASSERT_TRUE(image_.Mount()) << image_.failure();
  EXPECT_EQ(SizeOf(image_.view_file()), 48 * static_cast<off_t>(kMiB));
  std::string expected = data;
  expected.replace(kMiB, kMiB, changed);
  EXPECT_TRUE(ReadAt(image_.view_file(), 0, data.size(), true) == expected)
      << "stale cached data served after the device changed";
  EXPECT_TRUE(ReadAt(image_.view_file(), 0, 48 * kMiB, false) ==
              ReadAt(image_.origin(), 0, 48 * kMiB, false));
}

INSTANTIATE_TEST_SUITE_P(Origins, ImageModeTest,
                         ::testing::Values(ImageKind::kFile, ImageKind::kLoopDevice), KindName);

}  // namespace
}  // namespace wtcachefs::testing
