// The cache on a real mount: ownership of the cache directory, warm remounts,
// and origin files changed behind the mount (DESIGN W6).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "cli/exit_codes.h"
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

}  // namespace
}  // namespace wtcachefs::testing
