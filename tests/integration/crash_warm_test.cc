// SPDX-License-Identifier: Apache-2.0
// DESIGN W4 on a real mount, in directory and image mode: a VM-style image is
// warmed, written all over through the view with O_DIRECT, and the daemon is
// killed with SIGKILL right after the writes. After a remount the view equals
// origin, and every block is served from the cache again once the blocks the
// intent log names have been compared with origin; one that origin changed in
// the meantime is not. A change of the image behind the mount after the write
// lease has ended (docs/architecture.md, "Warm after a crash") drops it whole
// instead (W6).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

// Two intent regions of 64 KiB blocks (256 blocks, 16 MiB each).
constexpr size_t kRegion = 16 << 20;
constexpr size_t kImageSize = 2 * kRegion;
constexpr uint64_t kBlocksPerRegion = 256;
constexpr size_t kBlock = kRegion / kBlocksPerRegion;
// The daemon's write lease (CacheConfig::write_lease), and a margin.
constexpr auto kPastTheLease = std::chrono::milliseconds(3500);

// Reads [offset, offset + length) of `path` with O_DIRECT (past the page cache).
std::string ReadDirect(const std::string& path, size_t offset, size_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0) return "open failed";
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, length) != 0) return "no memory";
  const ssize_t n = ::pread(fd, buffer, length, static_cast<off_t>(offset));
  std::string content = n >= 0 ? std::string(static_cast<char*>(buffer), static_cast<size_t>(n))
                               : "read failed";
  std::free(buffer);
  ::close(fd);
  return content;
}

bool WriteDirect(const std::string& path, size_t offset, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT);
  if (fd < 0) return false;
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, data.size()) != 0) return false;
  std::memcpy(buffer, data.data(), data.size());
  const bool written =
      ::pwrite(fd, buffer, data.size(), static_cast<off_t>(offset)) ==
      static_cast<ssize_t>(data.size());
  std::free(buffer);
  ::close(fd);
  return written;
}

// What a test needs of a mount, in either mode.
struct Rig {
  std::string view;         // VIEW's root (for its status)
  std::string view_file;    // the image through the view
  std::string origin_file;  // the image on origin
  std::function<pid_t()> daemon_pid;
  std::function<bool()> remount;  // after the daemon died: clear the mount, mount again
};

enum class Mode { kDirectory, kImage };
void PrintTo(Mode mode, std::ostream* out) {
  *out << (mode == Mode::kDirectory ? "directory" : "image");
}

class CrashWarm : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    const std::vector<std::string> args = {"--sequential-cutoff", "0"};
    if (GetParam() == Mode::kDirectory) {
      directory_ = std::make_unique<MountedView>(
          std::vector<std::string>{"-o", "cache_size=64M", "--sequential-cutoff", "0"});
      ASSERT_TRUE(directory_->ok()) << directory_->failure();
      WriteFile(directory_->OriginPath("disk.img"), Pattern(kImageSize, 1));
      rig_ = Rig{directory_->view(), directory_->ViewPath("disk.img"),
                 directory_->OriginPath("disk.img"), [this] { return directory_->daemon_pid(); },
                 [this] {
                   directory_->Unmount();
                   return directory_->Remount();
                 }};
    } else {
      image_ = std::make_unique<ImageMount>(ImageKind::kFile, kImageSize);
      ASSERT_TRUE(image_->setup_failure().empty()) << image_->setup_failure();
      WriteFile(image_->backing_file(), Pattern(kImageSize, 1));
      ASSERT_TRUE(image_->Mount(args)) << image_->failure();
      rig_ = Rig{image_->view(), image_->view_file(), image_->backing_file(),
                 [this] { return image_->daemon_pid(); },
                 [this, args] {
                   image_->Unmount();
                   return image_->Mount(args);
                 }};
    }
  }

  // Warms the whole image, waits for a group commit, writes 4 KiB into every
  // fourth block of both regions through the view (a VM's scattered writes:
  // the intent log names the whole image) and kills the daemon at once.
  void WarmWriteAndKill() {
    ASSERT_EQ(ReadDirect(rig_.view_file, 0, kImageSize).size(), kImageSize);
    ASSERT_EQ(StatusCounter(rig_.view, "used_blocks"), 2 * kBlocksPerRegion);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // group commits
    for (size_t block = 0; block < 2 * kBlocksPerRegion; block += 4) {
      ASSERT_TRUE(WriteDirect(rig_.view_file, block * kBlock + 4096, Pattern(4096, block)));
    }
    ASSERT_EQ(::kill(rig_.daemon_pid(), SIGKILL), 0);
  }

  // Another program writes `bytes` at `offset` of the image on origin.
  void ChangeOriginBehindTheMount(size_t offset, const std::string& bytes) {
    const int fd = ::open(rig_.origin_file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }

  // Opens the image through the view (its first comparison), reading nothing
  // (a read would cache its block anew), and waits up to 10 s for `blocks` to
  // be cached again.
  bool WaitForUsedBlocks(uint64_t blocks) {
    const int fd = ::open(rig_.view_file.c_str(), O_RDONLY);
    if (fd >= 0) ::close(fd);
    for (int i = 0; i < 1000 && StatusCounter(rig_.view, "used_blocks") < blocks; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return StatusCounter(rig_.view, "used_blocks") == blocks;
  }

  std::unique_ptr<MountedView> directory_;
  std::unique_ptr<ImageMount> image_;
  Rig rig_;
};

TEST_P(CrashWarm, EveryBlockThatStillEqualsOriginIsServedFromTheCacheAfterSigkill) {
  WarmWriteAndKill();
  ASSERT_TRUE(rig_.remount());
  ASSERT_TRUE(WaitForUsedBlocks(2 * kBlocksPerRegion))
      << "used_blocks " << StatusCounter(rig_.view, "used_blocks");
  EXPECT_EQ(StatusCounter(rig_.view, "recovered_blocks"), 2 * kBlocksPerRegion);
  const std::string origin = ReadFile(rig_.origin_file);
  const uint64_t from_cache = StatusCounter(rig_.view, "bytes_read_from_cache");
  EXPECT_TRUE(ReadDirect(rig_.view_file, 0, kImageSize) == origin);
  EXPECT_EQ(StatusCounter(rig_.view, "bytes_read_from_cache") - from_cache, kImageSize)
      << "the image came back cold";
}

// A sector origin holds other bytes of (a write that reached origin and not the
// cache, or another program's within the lease) is not served from the cache.
TEST_P(CrashWarm, ASectorOriginChangedAfterSigkillIsServedFromOrigin) {
  WarmWriteAndKill();
  const std::string changed = Pattern(4096, 3);
  ChangeOriginBehindTheMount(kRegion, changed);
  ASSERT_TRUE(rig_.remount());
  // Sectors are compared one by one: the block stays, without that sector.
  ASSERT_TRUE(WaitForUsedBlocks(2 * kBlocksPerRegion))
      << "used_blocks " << StatusCounter(rig_.view, "used_blocks");
  const uint64_t from_cache = StatusCounter(rig_.view, "bytes_read_from_cache");
  EXPECT_TRUE(ReadDirect(rig_.view_file, kRegion, 4096) == changed) << "stale bytes served";
  EXPECT_EQ(StatusCounter(rig_.view, "bytes_read_from_cache"), from_cache);
  EXPECT_TRUE(ReadDirect(rig_.view_file, 0, kImageSize) == ReadFile(rig_.origin_file));
}

TEST_P(CrashWarm, AChangeBehindTheMountAfterTheLeaseDropsTheImage) {
  WarmWriteAndKill();
  std::this_thread::sleep_for(kPastTheLease);
  // Another program changes the image once the lease is over.
  const std::string changed = Pattern(4096, 3);
  ChangeOriginBehindTheMount(kRegion, changed);
  ASSERT_TRUE(rig_.remount());
  const std::string origin = ReadFile(rig_.origin_file);
  EXPECT_TRUE(ReadDirect(rig_.view_file, kRegion, 4096) == changed) << "stale bytes served";
  EXPECT_TRUE(ReadDirect(rig_.view_file, 0, kImageSize) == origin);
}

INSTANTIATE_TEST_SUITE_P(BothModes, CrashWarm, ::testing::Values(Mode::kDirectory, Mode::kImage),
                         [](const ::testing::TestParamInfo<Mode>& mode) {
                           return std::string(mode.param == Mode::kDirectory ? "Directory"
                                                                             : "Image");
                         });

}  // namespace
}  // namespace wtcachefs::testing
