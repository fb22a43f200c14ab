// SPDX-License-Identifier: Apache-2.0
// The cache on a real mount: ownership of the cache directory, warm remounts,
// and origin files changed behind the mount (DESIGN W6).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cli/exit_codes.h"
#include "io/origin_handle.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

CommandResult MountOther(const std::string& origin, const std::string& cache,
                         const std::string& view, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {WtcachefsBinary(), origin, cache, view, "-f",
                                   "--cache-size", "64M"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, std::chrono::seconds(20));
}

TEST(CacheMount, SecondMountOfTheSameCacheFailsClearly) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string other_view = mount.dir().Sub("other-view");
  const CommandResult r = MountOther(mount.origin(), mount.cache(), other_view);
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("in use by another wtcachefs mount"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMountPoint(other_view));
}

TEST(CacheMount, CacheOfAnotherOriginIsRefusedUntilReset) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(mount.Unmount());
  const std::string other_origin = mount.dir().Sub("other-origin");
  CommandResult r = MountOther(other_origin, mount.cache(), mount.view());
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("--reset-cache"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMountPoint(mount.view()));

  ChildProcess reset({WtcachefsBinary(), other_origin, mount.cache(), mount.view(), "-f",
                      "--cache-size", "64M", "--reset-cache"});
  ASSERT_TRUE(WaitForMountState(mount.view(), true)) << reset.Wait(std::chrono::seconds(1)).err;
  RunCommand({"fusermount3", "-u", mount.view()});
  EXPECT_EQ(reset.Wait(std::chrono::seconds(20)).exit_code, 0);
}

TEST(CacheMount, RemountComesBackWarmAndServesTheSameBytes) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string data(3 << 20, 'w');
  WriteFile(mount.OriginPath("f"), data);
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), data);
  ASSERT_TRUE(mount.Unmount());
  struct stat slots;
  ASSERT_EQ(::stat((mount.cache() + "/slots").c_str(), &slots), 0);
  EXPECT_EQ(slots.st_mode & 0777, 0600u);
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), data);
}

TEST(CacheMount, OriginChangedWhileMountedIsSeenAtTheNextOpen) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.OriginPath("f"), std::string(200000, 'a'));
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), std::string(200000, 'a'));  // cached now
  // Same size, new bytes, written behind the mount.
  WriteFile(mount.OriginPath("f"), std::string(200000, 'b'));
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), std::string(200000, 'b'));
  // Truncated behind the mount (the size is seen after the attribute timeout).
  ASSERT_EQ(::truncate(mount.OriginPath("f").c_str(), 1000), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), std::string(1000, 'b'));
  // Replaced by another file under the same name.
  WriteFile(mount.OriginPath("g"), "replacement");
  ASSERT_EQ(::rename(mount.OriginPath("g").c_str(), mount.OriginPath("f").c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), "replacement");
}

TEST(CacheMount, OriginChangedWhileUnmountedIsSeenAfterRemount) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.OriginPath("same-size"), std::string(300000, 'a'));
  WriteFile(mount.OriginPath("shrunk"), std::string(300000, 'a'));
  WriteFile(mount.OriginPath("replaced"), std::string(300000, 'a'));
  for (const char* name : {"same-size", "shrunk", "replaced"}) ReadFile(mount.ViewPath(name));
  ASSERT_TRUE(mount.Unmount());
  WriteFile(mount.OriginPath("same-size"), std::string(300000, 'z'));
  ASSERT_EQ(::truncate(mount.OriginPath("shrunk").c_str(), 10), 0);
  WriteFile(mount.OriginPath("new"), "new file");
  ASSERT_EQ(::rename(mount.OriginPath("new").c_str(), mount.OriginPath("replaced").c_str()), 0);
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(ReadFile(mount.ViewPath("same-size")), std::string(300000, 'z'));
  EXPECT_EQ(ReadFile(mount.ViewPath("shrunk")), std::string(10, 'a'));
  EXPECT_EQ(ReadFile(mount.ViewPath("replaced")), "new file");
}

// W6 for a file deleted behind the mount: an open of the view keeps reading the
// file it opened (as on a local file system), the name is gone once the
// kernel's entry timeout passes, and a new file under the old name — often on
// the old inode number — never serves the old file's cached blocks.
TEST(CacheMount, OriginFileDeletedWhileMountedNeverServesItsBlocksToANewFile) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string old_data(300000, 'o');
  WriteFile(mount.OriginPath("f"), old_data);
  ASSERT_TRUE(ReadFileDirect(mount.ViewPath("f")) == old_data);  // cached now
  const int kept = ::open(mount.ViewPath("f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(kept, 0);
  ASSERT_EQ(::unlink(mount.OriginPath("f").c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  struct stat st;
  EXPECT_NE(::stat(mount.ViewPath("f").c_str(), &st), 0) << "a deleted file is still listed";
  std::string through_kept(old_data.size(), '\0');
  EXPECT_EQ(::pread(kept, through_kept.data(), through_kept.size(), 0),
            static_cast<ssize_t>(old_data.size()));
  EXPECT_TRUE(through_kept == old_data);
  ::close(kept);
  // Same name, same size, other bytes.
  const std::string new_data(300000, 'n');
  WriteFile(mount.OriginPath("f"), new_data);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the negative entry expires
  EXPECT_TRUE(ReadFileDirect(mount.ViewPath("f")) == new_data);
  EXPECT_TRUE(ReadFile(mount.ViewPath("f")) == new_data);
  // And once more after a remount, where only the stored fingerprints can tell.
  ASSERT_TRUE(mount.Unmount());
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_TRUE(ReadFileDirect(mount.ViewPath("f")) == new_data);
}

// The daemon keeps a descriptor per origin inode the kernel remembers: started
// with the common soft limit of 1024 open files, it raises its own limit, so a
// tree of thousands of files works.
TEST(CacheMount, ThousandsOfFilesWorkUnderASoftLimitOf1024OpenFiles) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 4096) GTEST_SKIP() << "the hard limit of open files is below 4096";
  const rlimit low{1024, saved.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  MountedView mount;  // the daemon inherits the low soft limit
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(mount.ok()) << mount.failure();
  constexpr int kFiles = 3000;
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = mount.ViewPath("f" + std::to_string(i));
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    ::close(fd);
  }
  for (int i = 0; i < kFiles; ++i) {
    struct stat st;
    ASSERT_EQ(::stat(mount.ViewPath("f" + std::to_string(i)).c_str(), &st), 0) << i;
  }
}

constexpr int kDaemonFileLimit = 256;

// A launcher that starts the daemon under a hard open-file limit it cannot
// raise, after running `setup` (a shell command; "$1" is ORIGIN).
std::string LimitedLauncher(const TempDir& scripts, const std::string& setup) {
  const std::string launcher = scripts.Sub("wtcachefs-limited", false);
  WriteFile(launcher, "#!/bin/sh\nset -e\n" + setup + "\nulimit -n " +
                          std::to_string(kDaemonFileLimit) + "\nexec '" + WtcachefsBinary() +
                          "' \"$@\"\n");
  EXPECT_EQ(::chmod(launcher.c_str(), 0755), 0);
  return launcher;
}

// Creates about six times the daemon's open-file limit in files, spread over
// directories, all remembered by the kernel, then renames files and a
// directory, hard-links files, unlinks files that are open, and checks every
// name, link count and byte through the view and on origin.
void ExpectMoreFilesThanTheLimitMirrored(MountedView& mount) {
  rlimit daemon_limit{};
  ASSERT_EQ(::prlimit(mount.daemon_pid(), RLIMIT_NOFILE, nullptr, &daemon_limit), 0);
  ASSERT_EQ(daemon_limit.rlim_cur, static_cast<rlim_t>(kDaemonFileLimit));
  constexpr int kFiles = 1500;
  constexpr int kDirs = 10;
  auto dir = [](int i) { return "d" + std::to_string(i % kDirs); };
  auto name = [&](int i) { return dir(i) + "/f" + std::to_string(i); };
  auto content = [](int i) { return "content of file " + std::to_string(i) + "\n"; };
  for (int d = 0; d < kDirs; ++d) ASSERT_EQ(::mkdir(mount.ViewPath(dir(d)).c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = mount.ViewPath(name(i));
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    const std::string data = content(i);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  ASSERT_EQ(::mkdir(mount.ViewPath("links").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; i += 10) {
    ASSERT_EQ(::rename(mount.ViewPath(name(i)).c_str(), mount.ViewPath(name(i) + "r").c_str()), 0)
        << i << ": " << std::strerror(errno);
    ASSERT_EQ(::link(mount.ViewPath(name(i + 1)).c_str(),
                     mount.ViewPath("links/f" + std::to_string(i + 1)).c_str()),
              0)
        << i << ": " << std::strerror(errno);
  }
  // Open and unlinked: still readable and fstat-able through the open file.
  std::vector<int> unlinked;
  for (int i = 2; i < kFiles; i += 100) {
    const int fd = ::open(mount.ViewPath(name(i)).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << i << ": " << std::strerror(errno);
    ASSERT_EQ(::unlink(mount.ViewPath(name(i)).c_str()), 0);
    unlinked.push_back(fd);
  }
  // A directory moved with all its files (their entries stay known).
  ASSERT_EQ(::rename(mount.ViewPath("d3").c_str(), mount.ViewPath("moved").c_str()), 0);
  for (int i = 0; i < kFiles; ++i) {
    if (i % 100 == 2) continue;
    std::string rel = i % 10 == 0 ? name(i) + "r" : name(i);
    if (i % kDirs == 3) rel = "moved" + rel.substr(2);
    struct stat st;
    ASSERT_EQ(::stat(mount.ViewPath(rel).c_str(), &st), 0) << rel << ": " << std::strerror(errno);
    EXPECT_EQ(st.st_nlink, i % 10 == 1 ? 2u : 1u) << rel;
    EXPECT_EQ(ReadFile(mount.ViewPath(rel)), content(i)) << rel;
    EXPECT_EQ(ReadFile(mount.OriginPath(rel)), content(i)) << rel;
    if (i % 10 == 1) {
      EXPECT_EQ(ReadFile(mount.ViewPath("links/f" + std::to_string(i))), content(i)) << rel;
    }
  }
  for (size_t k = 0; k < unlinked.size(); ++k) {
    const int i = 2 + static_cast<int>(k) * 100;
    struct stat st;
    ASSERT_EQ(::fstat(unlinked[k], &st), 0) << i << ": " << std::strerror(errno);
    EXPECT_EQ(st.st_nlink, 0u) << i;
    std::string data(100, '\0');
    const ssize_t n = ::pread(unlinked[k], data.data(), data.size(), 0);
    ASSERT_GE(n, 0) << i << ": " << std::strerror(errno);
    data.resize(static_cast<size_t>(n));
    EXPECT_EQ(data, content(i)) << i;
    ::close(unlinked[k]);
  }
  EXPECT_TRUE(mount.Unmount()) << mount.DaemonLog();
}

// Where origin keeps file handles (ext4, XFS, btrfs, tmpfs...) the daemon closes
// the descriptors of inodes nobody uses and reopens them by handle.
TEST(CacheMount, MoreFilesThanTheDaemonsOpenFileLimitWorkWhereOriginKeepsFileHandles) {
  TempDir scripts;
  MountedView mount({}, LimitedLauncher(scripts, ":"));
  ASSERT_TRUE(mount.ok()) << mount.failure();
  {
    UniqueFd origin(::open(mount.origin().c_str(), O_PATH | O_CLOEXEC));
    if (!OriginHandle::Of(origin.get())) {
      GTEST_SKIP() << mount.origin() << " keeps no file handles: see the overlay test";
    }
  }
  ExpectMoreFilesThanTheLimitMirrored(mount);
}

// Where it does not (FUSE file systems such as sshfs, overlay), they are
// reopened by the parent and name they were last looked up by.
TEST(CacheMount, MoreFilesThanTheDaemonsOpenFileLimitWorkOverAnOriginWithoutFileHandles) {
  TempDir scripts;
  {
    // Probe: may overlay file systems be mounted here?
    TempDir probe;
    const std::string options = "lowerdir=" + probe.Sub("l") + ",upperdir=" + probe.Sub("u") +
                                ",workdir=" + probe.Sub("w");
    if (::mount("overlay", probe.Sub("m").c_str(), "overlay", 0, options.c_str()) != 0) {
      GTEST_SKIP() << "cannot mount an overlay file system here: " << std::strerror(errno);
    }
    ::umount2(probe.Sub("m", false).c_str(), MNT_DETACH);
  }
  // ORIGIN becomes an overlay mount; the view's TempDir unmounts it afterwards.
  const std::string setup = "mount -t overlay overlay -o lowerdir='" + scripts.Sub("lower") +
                            "',upperdir='" + scripts.Sub("upper") + "',workdir='" +
                            scripts.Sub("work") + "' \"$1\"";
  MountedView mount({}, LimitedLauncher(scripts, setup));
  ASSERT_TRUE(mount.ok()) << mount.failure();
  struct statfs origin_fs;
  ASSERT_EQ(::statfs(mount.origin().c_str(), &origin_fs), 0);
  ASSERT_EQ(origin_fs.f_type, OVERLAYFS_SUPER_MAGIC) << "ORIGIN is not the overlay";
  ExpectMoreFilesThanTheLimitMirrored(mount);
}

}  // namespace
}  // namespace wtcachefs::testing
