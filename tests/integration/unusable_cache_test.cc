// SPDX-License-Identifier: Apache-2.0
// A writethrough cache never stands between its users and the origin: a cache
// that cannot be used at mount (its directory is gone, its file system is
// read-only, or full so that its metadata cannot be opened) leaves the view
// mounted and serving the origin uncached, with one warning, and status says
// degraded and why. A full file system discards nothing: once it has room
// again, the next mount uses the cache with the blocks it held, and a mount
// whose file system fills up uses its cache again by itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_fixtures.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

std::string StatusJson(const std::string& view) {
  char text[8192];
  const ssize_t n = ::getxattr(view.c_str(), "wtcachefs.status.json", text, sizeof(text));
  return n < 0 ? std::string("no status") : std::string(text, static_cast<size_t>(n));
}

class UnusableCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for tmpfs mounts";
    WriteFile(origin_ + "/data", std::string(1 << 20, 'o'));
  }

  // Mounts the way users do (the daemon detaches) with an explicit cache size;
  // returns what the command printed.
  CommandResult Mount() {
    return RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "4M"},
                      std::chrono::seconds(30));
  }

  bool Unmount() {
    return RunCommand({"fusermount3", "-u", view_}, std::chrono::seconds(20)).exit_code == 0 &&
           WaitForNoLiveDaemon(view_);
  }

  // The view serves origin, writes reach it, and status says why it is uncached.
  void ExpectServedUncached(const CommandResult& mounted, const std::string& why) {
    ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
    EXPECT_EQ(std::count(mounted.err.begin(), mounted.err.end(), '\n'), 1)
        << "one warning: " << mounted.err;
    EXPECT_EQ(mounted.err.rfind("wtcachefs: the cache in '" + cache_ + "' cannot be used (" + why, 0),
              0u)
        << mounted.err;
    EXPECT_NE(mounted.err.find("from the origin only"), std::string::npos) << mounted.err;
    EXPECT_EQ(ReadFile(view_ + "/data"), std::string(1 << 20, 'o'));
    WriteFile(view_ + "/written", "through the view");
    EXPECT_EQ(ReadFile(origin_ + "/written"), "through the view");
    const std::string status = StatusJson(view_);
    EXPECT_NE(status.find("\"mode\":\"degraded\""), std::string::npos) << status;
    EXPECT_NE(status.find("\"degraded_reason\":\"" + why), std::string::npos) << status;
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
  ViewTeardown teardown_{view_};
};

TEST_F(UnusableCacheTest, AReadOnlyCacheFileSystemServesTheOriginUncached) {
  TmpfsMount read_only(cache_, "size=8m", MS_RDONLY);
  ASSERT_TRUE(read_only.ok());
  ExpectServedUncached(Mount(), "its file system is read-only");
  EXPECT_TRUE(Unmount());
}

TEST_F(UnusableCacheTest, AReadOnlyBindMountedCacheServesTheOriginUncached) {
  ReadOnlyBindMount read_only(cache_);
  ASSERT_TRUE(read_only.ok());
  ExpectServedUncached(Mount(), "its file system is read-only");
  EXPECT_TRUE(Unmount());
}

// A fast disk that is not mounted at boot: its cache directory is not there.
TEST_F(UnusableCacheTest, AMissingCacheDirectoryServesTheOriginUncached) {
  ASSERT_EQ(::rmdir(cache_.c_str()), 0);
  ExpectServedUncached(Mount(), "it does not exist");
  EXPECT_TRUE(Unmount());
  // The mount-helper form (fstab's) too.
  const CommandResult helper_form = RunCommand(
      {WtcachefsBinary(), origin_, view_, "-o", "cache=" + cache_ + ",cache_size=4M"},
      std::chrono::seconds(30));
  ExpectServedUncached(helper_form, "it does not exist");
  EXPECT_TRUE(Unmount());
}

// Writes `path` until its file system is full, to the last byte.
void FillFileSystem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  const std::string chunk(1 << 16, 'f');
  while (::write(fd, chunk.data(), chunk.size()) > 0) {
  }
  while (::write(fd, chunk.data(), 1) > 0) {
  }
  ::close(fd);
}

TEST_F(UnusableCacheTest, AFullCacheFileSystemServesUncachedAndKeepsTheCacheForLater) {
  TmpfsMount small(cache_, "size=12m");
  ASSERT_TRUE(small.ok());
  CommandResult mounted = Mount();
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_EQ(ReadFile(view_ + "/data").size(), size_t{1} << 20);
  const uint64_t cached = StatusCounter(view_, "used_blocks");
  ASSERT_GT(cached, 0u);
  ASSERT_TRUE(Unmount());

  // Another program fills the file system to the last byte.
  const std::string filler = cache_ + "/filler";
  FillFileSystem(filler);
  mounted = Mount();
  ExpectServedUncached(mounted, "the cache metadata in '" + cache_ + "/meta' cannot be opened");
  EXPECT_NE(mounted.err.find("full"), std::string::npos) << mounted.err;
  ASSERT_TRUE(Unmount());

  ASSERT_EQ(::unlink(filler.c_str()), 0);
  mounted = Mount();
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(mounted.err, "") << "the cache was discarded or damaged";
  EXPECT_NE(StatusJson(view_).find("\"mode\":\"normal\""), std::string::npos);
  EXPECT_EQ(StatusCounter(view_, "used_blocks"), cached) << "the cache lost its blocks";
  EXPECT_TRUE(Unmount());
}

// Waits up to `seconds` for the view's status mode to be `mode`.
bool WaitForMode(const std::string& view, const std::string& mode, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (StatusJson(view).find("\"mode\":\"" + mode + "\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// A cache file system that fills up while mounted (another program's files):
// the metadata store cannot be written, the view goes on serving from the
// origin, and the cache is used again once there is room, with nothing lost.
TEST_F(UnusableCacheTest, AFileSystemFillingUpWhileMountedDegradesUntilThereIsRoomAgain) {
  TmpfsMount small(cache_, "size=16m");
  ASSERT_TRUE(small.ok());
  ASSERT_EQ(Mount().exit_code, 0);
  ASSERT_EQ(ReadFile(view_ + "/data"), std::string(1 << 20, 'o'));
  const std::string filler = cache_ + "/filler";
  FillFileSystem(filler);
  // Changes through the view need a commit of the cache's metadata.
  WriteFile(view_ + "/written", std::string(1 << 19, 'w'));
  ASSERT_TRUE(WaitForMode(view_, "degraded", 10)) << StatusJson(view_);
  EXPECT_NE(StatusJson(view_).find("the metadata store cannot be written"), std::string::npos);
  WriteFile(view_ + "/while-degraded", std::string(1 << 19, 'd'));
  EXPECT_EQ(ReadFile(view_ + "/written"), ReadFile(origin_ + "/written"));

  ASSERT_EQ(::unlink(filler.c_str()), 0);
  ASSERT_TRUE(WaitForMode(view_, "normal", 30)) << StatusJson(view_);
  const uint64_t promotions = StatusCounter(view_, "promotions");
  EXPECT_EQ(ReadFileDirect(view_ + "/while-degraded"), std::string(1 << 19, 'd'));
  EXPECT_GT(StatusCounter(view_, "promotions"), promotions) << "the cache is not used again";
  ASSERT_TRUE(Unmount());
  ASSERT_EQ(Mount().exit_code, 0);
  for (const char* name : {"data", "written", "while-degraded"}) {
    EXPECT_EQ(ReadFileDirect(view_ + "/" + name), ReadFile(origin_ + "/" + name)) << name;
  }
  EXPECT_TRUE(Unmount());
}

}  // namespace
}  // namespace wtcachefs::testing
