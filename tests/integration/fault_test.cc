// SPDX-License-Identifier: Apache-2.0
// Faults real machines have, on a real mount (DESIGN W2, W3): a full origin
// reaches the caller as ENOSPC and leaves nothing stale in the cache; a cache
// file system that fills up never reaches the caller, puts the mount in
// degraded mode (status and log say so), and a remount recovers; so does a
// CACHE deleted while mounted, or whose file system turns read-only.
// Each with a writer running while the fault strikes, and a byte-for-byte
// comparison of VIEW with origin at the end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// A tmpfs of `size` mounted at `path` for the test's life.
// Writes `files` files of 256 KiB through the view, each fsync'ed; every call
// must succeed. Returns false at the first failure (reported).
bool WriteFiles(const std::string& view, int first, int files) {
  for (int i = first; i < first + files; ++i) {
    const std::string path = view + "/w" + std::to_string(i);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
      return false;
    }
    const std::string data = Pattern(256 * kKiB, static_cast<uint32_t>(i));
    const bool written = ::pwrite(fd, data.data(), data.size(), 0) ==
                         static_cast<ssize_t>(data.size());
    const bool synced = written && ::fsync(fd) == 0;
    const int error = errno;
    ::close(fd);
    if (!synced) {
      ADD_FAILURE() << (written ? "fsync " : "write ") << path << ": " << std::strerror(error);
      return false;
    }
  }
  return true;
}

void ExpectViewEqualsOrigin(const MountedView& mount, int files) {
  for (int i = 0; i < files; ++i) {
    const std::string name = "w" + std::to_string(i);
    EXPECT_TRUE(ReadFile(mount.ViewPath(name)) == ReadFile(mount.OriginPath(name))) << name;
    EXPECT_TRUE(ReadFile(mount.OriginPath(name)) ==
                Pattern(256 * kKiB, static_cast<uint32_t>(i)))
        << name;
  }
}

std::string Mode(const MountedView& mount) {
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", mount.view(), "--line"});
  const size_t at = r.out.find("mode=");
  return at == std::string::npos ? r.out : r.out.substr(at + 5, r.out.find(' ', at) - at - 5);
}

TEST(OriginFaults, FullOriginReturnsEnospcAndLeavesNothingStale) {
  TempDir dir;
  TmpfsMount origin(dir.Sub("origin"), "size=2M");
  ASSERT_TRUE(origin.ok());
  MountedView mount;  // its own origin: rebuilt below on the small tmpfs
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(mount.Unmount());
  std::string failure;
  auto daemon = StartForegroundMount({WtcachefsBinary(), dir.Sub("origin"), mount.cache(),
                                      mount.view(), "-f", "--cache-size", "16M",
                                      "--reset-cache"},
                                     mount.view(), &failure);
  ASSERT_TRUE(daemon) << failure;
  const std::string path = mount.view() + "/big";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string chunk = Pattern(64 * kKiB, 3);
  size_t written = 0;
  int error = 0;
  for (int i = 0; i < 64; ++i) {
    if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(written)) < 0) {
      error = errno;
      break;
    }
    written += chunk.size();
  }
  ::close(fd);
  EXPECT_EQ(error, ENOSPC) << "the origin's errno must reach the caller";
  EXPECT_LT(written, 2 * kMiB + 1);
  // What the view serves (from the cache where it has blocks) is origin's.
  EXPECT_TRUE(ReadFile(path) == ReadFile(dir.Sub("origin", false) + "/big"));
  EXPECT_GT(StatusCounter(mount.view(), "origin_write_errors"), 0u);
  EXPECT_TRUE(StopForegroundMount(daemon, mount.view(), std::chrono::seconds(20)));
}

class CacheFaultTest : public ::testing::Test {
 protected:
  // The cache on a 24 MiB tmpfs of its own (mounted over the fixture's cache
  // directory), holding a 16 MiB cache.
  void SetUp() override {
    mount_ = std::make_unique<MountedView>(std::vector<std::string>{"-o", "cache_size=16M"});
    ASSERT_TRUE(mount_->ok()) << mount_->failure();
    ASSERT_TRUE(mount_->Unmount());
    cache_ = mount_->cache();
    cache_fs_ = std::make_unique<TmpfsMount>(cache_, "size=24M");
    ASSERT_TRUE(cache_fs_->ok());
    ASSERT_TRUE(mount_->Remount()) << mount_->failure();
  }
  void TearDown() override {
    mount_->Unmount();
    cache_fs_.reset();
    mount_.reset();
  }

  // Runs a writer through the view while `fault` strikes half way; every write
  // and fsync must succeed.
  void WriteThrough(const std::function<void()>& fault) {
    std::atomic<bool> ok{true};
    std::thread writer([&] { ok = WriteFiles(mount_->view(), 0, 20); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    fault();
    writer.join();
    ASSERT_TRUE(ok);
    ASSERT_TRUE(WriteFiles(mount_->view(), 20, 20)) << "after the fault";
  }

  std::unique_ptr<MountedView> mount_;
  std::string cache_;
  std::unique_ptr<TmpfsMount> cache_fs_;
};

TEST_F(CacheFaultTest, CacheFileSystemFillingUpNeverReachesTheCaller) {
  WriteThrough([&] {
    // Take every free byte of the cache's file system.
    const int fd = ::open((cache_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const std::string block(kMiB, 'z');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    ::close(fd);
  });
  ExpectViewEqualsOrigin(*mount_, 40);
  EXPECT_EQ(Mode(*mount_), "degraded");
  EXPECT_NE(mount_->DaemonLog().find("is degraded"), std::string::npos) << mount_->DaemonLog();
  // Space again, and a remount: the cache is back in service.
  mount_->Unmount();
  ASSERT_EQ(::unlink((cache_ + "/filler").c_str()), 0);
  ASSERT_TRUE(mount_->Remount()) << mount_->failure();
  EXPECT_EQ(Mode(*mount_), "normal");
  ExpectViewEqualsOrigin(*mount_, 40);
}

// The daemon whose IO backend fails the cache's or the origin's requests with
// EIO while a control file exists (support/held_io_daemon.cc).
class InjectedFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("WTCACHEFS_TEST_CONTROL_DIR", control_.path().c_str(), 1);
    mount_ = std::make_unique<MountedView>(std::vector<std::string>{}, HeldIoBinary());
    ::unsetenv("WTCACHEFS_TEST_CONTROL_DIR");
    ASSERT_TRUE(mount_->ok()) << mount_->failure();
  }
  void Fault(const std::string& name, bool on) {
    const std::string path = control_.path() + "/" + name;
    if (on) {
      WriteFile(path, "");
    } else {
      ::unlink(path.c_str());
    }
  }

  TempDir control_;
  std::unique_ptr<MountedView> mount_;
};

TEST_F(InjectedFaultTest, CacheEioNeverReachesTheCallerAndARemountRecovers) {
  std::atomic<bool> ok{true};
  std::thread writer([&] { ok = WriteFiles(mount_->view(), 0, 20); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Fault("fail-cache", true);
  writer.join();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(WriteFiles(mount_->view(), 20, 20)) << "writes while the cache fails";
  ExpectViewEqualsOrigin(*mount_, 40);
  EXPECT_EQ(Mode(*mount_), "degraded") << "repeated cache errors must degrade the mount";
  EXPECT_GT(StatusCounter(mount_->view(), "cache_write_errors"), 0u);
  EXPECT_NE(mount_->DaemonLog().find("is degraded"), std::string::npos) << mount_->DaemonLog();
  Fault("fail-cache", false);
  mount_->Unmount();
  ASSERT_TRUE(mount_->Remount()) << mount_->failure();
  EXPECT_EQ(Mode(*mount_), "normal");
  ExpectViewEqualsOrigin(*mount_, 40);
}

TEST_F(InjectedFaultTest, OriginEioReachesTheCallerAndLeavesNothingStale) {
  ASSERT_TRUE(WriteFiles(mount_->view(), 0, 1));
  const std::string path = mount_->ViewPath("w0");
  ASSERT_TRUE(ReadFile(path) == Pattern(256 * kKiB, 0));  // cached now
  Fault("fail-origin", true);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string update(64 * kKiB, 'u');
  errno = 0;
  EXPECT_EQ(::pwrite(fd, update.data(), update.size(), 4096), -1);
  EXPECT_EQ(errno, EIO) << "the origin's errno must reach the caller";
  ::close(fd);
  Fault("fail-origin", false);
  // Past the page cache: what the daemon serves for the failed range is origin's.
  const std::string served = ReadFileDirect(path);
  EXPECT_TRUE(served == ReadFile(mount_->OriginPath("w0"))) << "a cached block differs from origin";
  EXPECT_GT(StatusCounter(mount_->view(), "origin_write_errors"), 0u);
}

void ExpectServedEqualsOrigin(const MountedView& mount, int files) {
  for (int i = 0; i < files; ++i) {
    const std::string name = "w" + std::to_string(i);
    EXPECT_TRUE(ReadFileDirect(mount.ViewPath(name)) ==
                Pattern(256 * kKiB, static_cast<uint32_t>(i)))
        << name;
  }
}

// Waits up to 10 s for the mount's status to say `mode`.
bool WaitForMode(const MountedView& mount, const std::string& mode) {
  for (int i = 0; i < 100; ++i) {
    if (Mode(mount) == mode) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// CACHE deleted while mounted: the open slot file keeps working unlinked, so no
// IO error ever reports it; the engine must notice, degrade and say so.
TEST(CacheDirectoryFaults, CacheDeletedWhileMountedNeverReachesTheCallerAndARemountRecovers) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 10));
  ExpectServedEqualsOrigin(mount, 10);  // cached now
  std::atomic<bool> ok{true};
  std::thread writer([&] { ok = WriteFiles(mount.view(), 10, 20); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::error_code error;
  std::filesystem::remove_all(mount.cache(), error);
  ASSERT_FALSE(error) << error.message();
  writer.join();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 5)) << "writes after CACHE is gone";
  EXPECT_TRUE(WaitForMode(mount, "degraded")) << Mode(mount);
  EXPECT_NE(mount.DaemonLog().find("was deleted"), std::string::npos) << mount.DaemonLog();
  ExpectServedEqualsOrigin(mount, 30);
  ExpectViewEqualsOrigin(mount, 30);
  // A new CACHE directory and a remount: a new, empty cache in service.
  mount.Unmount();
  ASSERT_TRUE(std::filesystem::create_directory(mount.cache()));
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(Mode(mount), "normal");
  ExpectServedEqualsOrigin(mount, 30);
  EXPECT_GT(StatusCounter(mount.view(), "promotions"), 0u) << "the new cache is not used";
}

// The checksum file deleted while mounted: the open file keeps working
// unlinked, and the next mount would find every block unverifiable; the engine
// notices as it does for the slot file.
TEST(CacheDirectoryFaults, ChecksumFileDeletedWhileMountedDegradesAndSaysSo) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 10));
  ExpectServedEqualsOrigin(mount, 10);  // cached now
  ASSERT_EQ(::unlink((mount.cache() + "/checksums").c_str()), 0) << std::strerror(errno);
  EXPECT_TRUE(WaitForMode(mount, "degraded")) << Mode(mount);
  EXPECT_NE(mount.DaemonLog().find("checksum file"), std::string::npos) << mount.DaemonLog();
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 5)) << "writes after the checksum file is gone";
  ExpectServedEqualsOrigin(mount, 10);
  ExpectViewEqualsOrigin(mount, 10);
}

// An ext4 file system on a loop device, mounted with errors=remount-ro over
// `path`, whose error can be triggered as a failing disk would.
class LoopExt4 {
 public:
  LoopExt4(const std::string& image, const std::string& path) : image_(image), path_(path) {
    if (RunCommand({"truncate", "-s", "160M", image}).exit_code != 0) return;
    if (RunCommand({"mkfs.ext4", "-q", "-F", image}).exit_code != 0) return;
    const CommandResult loop = RunCommand({"losetup", "-f", "--show", image});
    if (loop.exit_code != 0) return;
    device_ = loop.out.substr(0, loop.out.find('\n'));
    ok_ = Mount();
  }
  // Why this ext4 cannot be made to fail here ("" when it can).
  std::string CannotFail() const {
    if (!ok_) return "no loop device or ext4 here";
    if (::access(error_trigger().c_str(), W_OK) != 0) {
      return error_trigger() + " is missing: cannot make ext4 fail";
    }
    return "";
  }
  ~LoopExt4() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    if (!device_.empty()) RunCommand({"losetup", "-d", device_});
  }
  bool ok() const { return ok_; }
  // ext4's own switch for an error: with errors=remount-ro the file system
  // stops taking writes (EROFS) until it is checked and mounted again.
  std::string error_trigger() const {
    return "/sys/fs/ext4/" + device_.substr(device_.rfind('/') + 1) + "/trigger_fs_error";
  }
  bool TriggerError() const {
    const int fd = ::open(error_trigger().c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool written = ::write(fd, "fault test\n", 11) == 11;
    ::close(fd);
    return written;
  }
  // Unmounts, repairs with e2fsck and mounts again (what an administrator does).
  bool Repair() {
    if (::umount(path_.c_str()) != 0) return false;
    mounted_ = false;
    RunCommand({"e2fsck", "-fy", device_});  // exit 1: errors corrected
    return Mount();
  }

 private:
  bool Mount() {
    mounted_ = ::mount(device_.c_str(), path_.c_str(), "ext4", 0, "errors=remount-ro") == 0;
    if (mounted_) ::chmod(path_.c_str(), 0700);
    return mounted_;
  }

  std::string image_, path_, device_;
  bool mounted_ = false;
  bool ok_ = false;
};

TEST(CacheDirectoryFaults, CacheFileSystemTurningReadOnlyNeverReachesTheCallerAndRecovers) {
  MountedView mount({"-o", "cache_size=32M"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(mount.Unmount());
  LoopExt4 cache_fs(mount.dir().Sub("cache.img", false), mount.cache());
  if (const std::string why = cache_fs.CannotFail(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 10));
  ExpectServedEqualsOrigin(mount, 10);  // cached now
  std::atomic<bool> ok{true};
  std::thread writer([&] { ok = WriteFiles(mount.view(), 10, 20); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(cache_fs.TriggerError());
  writer.join();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 5)) << "writes while CACHE is read-only";
  ExpectServedEqualsOrigin(mount, 30);
  EXPECT_TRUE(WaitForMode(mount, "degraded")) << Mode(mount);
  EXPECT_NE(mount.DaemonLog().find("is degraded"), std::string::npos) << mount.DaemonLog();
  ExpectViewEqualsOrigin(mount, 30);
  // The file system checked and writable again, and a remount: back in service.
  mount.Unmount();
  ASSERT_TRUE(cache_fs.Repair());
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(Mode(mount), "normal");
  ExpectServedEqualsOrigin(mount, 30);
  ASSERT_TRUE(WriteFiles(mount.view(), 30, 5));
  ExpectServedEqualsOrigin(mount, 35);
  ExpectViewEqualsOrigin(mount, 35);
}

// The cache device failing degrades the mount and may leave its metadata store
// damaged (here: a commit record never made durable), so that the next mount
// discards the store: the counters the degraded mount recorded before the fault
// are kept all the same.
TEST(CacheDirectoryFaults, CountersSurviveADegradedSessionAndTheRepairOfTheCache) {
  MountedView mount({"-o", "cache_size=32M"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(mount.Unmount());
  LoopExt4 cache_fs(mount.dir().Sub("cache.img", false), mount.cache());
  if (const std::string why = cache_fs.CannotFail(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  ASSERT_TRUE(WriteFiles(mount.view(), 0, 10));
  ExpectServedEqualsOrigin(mount, 10);  // hits
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a group commit or two
  const uint64_t writes = StatusCounter(mount.view(), "write_misses");
  const uint64_t hits = StatusCounter(mount.view(), "read_hits");
  ASSERT_GT(writes, 0u);
  ASSERT_GT(hits, 0u);
  ASSERT_TRUE(cache_fs.TriggerError());
  ASSERT_TRUE(WriteFiles(mount.view(), 10, 10));
  EXPECT_TRUE(WaitForMode(mount, "degraded")) << Mode(mount);
  mount.Unmount();
  ASSERT_TRUE(cache_fs.Repair());
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(Mode(mount), "normal");
  EXPECT_GE(StatusCounter(mount.view(), "write_misses"), writes) << mount.DaemonLog();
  EXPECT_GE(StatusCounter(mount.view(), "read_hits"), hits) << mount.DaemonLog();
  ExpectViewEqualsOrigin(mount, 20);
}

}  // namespace
}  // namespace wtcachefs::testing
