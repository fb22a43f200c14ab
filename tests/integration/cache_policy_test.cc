// SPDX-License-Identifier: Apache-2.0
// Cache policy on a real mount (DESIGN W7): a bounded cache evicts by policy,
// keeps a hot file through a scan under the default policy, bypasses
// sequential streams past the cutoff, and writes around when asked to; all of
// it visible in the status counters.
#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kMiB = 1 << 20;

// Reads `path` with O_DIRECT (so every read reaches the daemon, not the
// kernel's page cache), 1 MiB at a time, from `offset` for at most `length`
// bytes (default: to the end). Returns the bytes read.
size_t ReadDirect(const std::string& path, size_t offset = 0, size_t length = SIZE_MAX) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return 0;
  }
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, kMiB) != 0) return 0;
  size_t total = 0;
  ssize_t n;
  while (total < length &&
         (n = ::pread(fd, buffer, std::min(kMiB, length - total),
                      static_cast<off_t>(offset + total))) > 0) {
    total += static_cast<size_t>(n);
  }
  std::free(buffer);
  ::close(fd);
  return total;
}

class CachePolicyTest : public ::testing::Test {
 protected:
  // An 8 MiB cache (128 blocks of 64 KiB), a 2 MiB hot file, a 16 MiB cold one.
  bool MountWith(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "cache_size=8M"});
    mount_ = std::make_unique<MountedView>(args);
    if (!mount_->ok()) return false;
    WriteFile(mount_->OriginPath("hot"), Pattern(2 * kMiB, 1));
    WriteFile(mount_->OriginPath("cold"), Pattern(16 * kMiB, 2));
    return true;
  }
  uint64_t Counter(const std::string& name) { return StatusCounter(mount_->view(), name); }

  // Reads the hot file three times, then scans the cold file (twice the cache)
  // while the hot file is read again half way; returns how many read requests
  // of the next pass over the hot file were served wholly from the cache.
  uint64_t HotHitsAfterScan() {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(ReadDirect(mount_->ViewPath("hot")), 2 * kMiB);
    EXPECT_EQ(ReadDirect(mount_->ViewPath("cold"), 0, 8 * kMiB), 8 * kMiB);
    EXPECT_EQ(ReadDirect(mount_->ViewPath("hot")), 2 * kMiB);
    EXPECT_EQ(ReadDirect(mount_->ViewPath("cold"), 8 * kMiB, 8 * kMiB), 8 * kMiB);
    const uint64_t hits = Counter("read_hits");
    EXPECT_EQ(ReadDirect(mount_->ViewPath("hot")), 2 * kMiB);
    return Counter("read_hits") - hits;
  }

  std::unique_ptr<MountedView> mount_;
};

TEST_F(CachePolicyTest, DefaultPolicyKeepsTheHotFileThroughAScan) {
  ASSERT_TRUE(MountWith({"--sequential-cutoff", "0"})) << mount_->failure();
  // Two 1 MiB requests (each reads blocks of 64 KiB); both must hit.
  EXPECT_EQ(HotHitsAfterScan(), 2u) << "the scan evicted the hot file";
  EXPECT_GT(Counter("demotions"), 0u) << "a scan of twice the cache must evict";
  EXPECT_LE(Counter("used_blocks"), Counter("total_blocks"));
}

TEST_F(CachePolicyTest, LruLosesTheHotFileToTheSameScan) {
  // The same workload under LRU: shows the test above measures the policy.
  ASSERT_TRUE(MountWith({"--sequential-cutoff", "0", "--policy", "lru"})) << mount_->failure();
  EXPECT_EQ(HotHitsAfterScan(), 0u);
  EXPECT_GT(Counter("demotions"), 0u);
}

TEST_F(CachePolicyTest, SequentialCutoffBypassesTheScanEvenUnderLru) {
  // The default cutoff, 4 MiB: the hot file (2 MiB) is cached, the scan past
  // its first 4 MiB goes around the cache.
  ASSERT_TRUE(MountWith({"--policy", "lru"})) << mount_->failure();
  EXPECT_EQ(HotHitsAfterScan(), 2u) << "the scan should have gone around the cache";
  // Each half of the scan (one open each) goes 4 MiB past the cutoff: 128
  // blocks not cached.
  EXPECT_GE(Counter("bypasses"), 128u);
}

TEST_F(CachePolicyTest, CacheNeverHoldsMoreThanItsSize) {
  ASSERT_TRUE(MountWith({"--sequential-cutoff", "0"})) << mount_->failure();
  for (int pass = 0; pass < 3; ++pass) {
    EXPECT_EQ(ReadDirect(mount_->ViewPath("cold")), 16 * kMiB);
    EXPECT_LE(Counter("used_blocks"), Counter("total_blocks"));
  }
  EXPECT_EQ(Counter("total_blocks"), 128u);
  EXPECT_GT(Counter("demotions"), 128u);
  EXPECT_GT(Counter("promotions"), 128u);
  EXPECT_EQ(ReadFile(mount_->ViewPath("cold")), Pattern(16 * kMiB, 2));
}

TEST_F(CachePolicyTest, WriteAroundLeavesWriteMissesUncached) {
  ASSERT_TRUE(MountWith({"--write-policy", "around"})) << mount_->failure();
  WriteFile(mount_->ViewPath("new"), Pattern(kMiB, 3));
  EXPECT_EQ(Counter("used_blocks"), 0u);
  EXPECT_GT(Counter("write_misses"), 0u);
  EXPECT_EQ(ReadFile(mount_->OriginPath("new")), Pattern(kMiB, 3));
}

TEST_F(CachePolicyTest, WriteAllocateCachesWriteMisses) {
  ASSERT_TRUE(MountWith({})) << mount_->failure();
  WriteFile(mount_->ViewPath("new"), Pattern(kMiB, 3));
  EXPECT_EQ(Counter("used_blocks"), 16u);
}

TEST_F(CachePolicyTest, RemountWithASmallerSizeDemotesDownToItAndALargerOneGrows) {
  ASSERT_TRUE(MountWith({"--sequential-cutoff", "0"})) << mount_->failure();
  EXPECT_EQ(ReadDirect(mount_->ViewPath("cold")), 16 * kMiB);
  EXPECT_GT(Counter("used_blocks"), 100u);
  const std::string slots = mount_->cache() + "/slots";
  ASSERT_TRUE(mount_->Unmount());

  ASSERT_TRUE(mount_->RemountWith({"-o", "cache_size=2M", "--sequential-cutoff", "0"}))
      << mount_->failure();
  EXPECT_EQ(Counter("total_blocks"), 32u);
  EXPECT_LE(Counter("used_blocks"), 32u);
  EXPECT_EQ(ReadFile(mount_->ViewPath("cold")), Pattern(16 * kMiB, 2));
  ASSERT_TRUE(mount_->Unmount());
  struct stat st;
  ASSERT_EQ(::stat(slots.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(2 * kMiB)) << "the slot file did not shrink";

  ASSERT_TRUE(mount_->RemountWith({"-o", "cache_size=16M", "--sequential-cutoff", "0"}))
      << mount_->failure();
  EXPECT_EQ(Counter("total_blocks"), 256u);
  EXPECT_EQ(ReadDirect(mount_->ViewPath("cold")), 16 * kMiB);
  EXPECT_GT(Counter("used_blocks"), 200u) << "the grown cache does not take more blocks";
  ASSERT_EQ(::stat(slots.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(16 * kMiB));

  // Without a size the cache keeps the one it has.
  ASSERT_TRUE(mount_->Unmount());
  std::string failure;
  auto daemon = StartForegroundMount(
      {WtcachefsBinary(), mount_->origin(), mount_->cache(), mount_->view(), "-f"},
      mount_->view(), &failure);
  ASSERT_TRUE(daemon) << failure;
  EXPECT_EQ(Counter("total_blocks"), 256u);
  EXPECT_TRUE(StopForegroundMount(daemon, mount_->view(), std::chrono::seconds(20)));
}

TEST_F(CachePolicyTest, InvalidateDropsOneFileOrEverything) {
  ASSERT_TRUE(MountWith({})) << mount_->failure();
  EXPECT_EQ(ReadDirect(mount_->ViewPath("hot")), 2 * kMiB);
  EXPECT_EQ(ReadDirect(mount_->ViewPath("cold")), 16 * kMiB);  // 4 MiB cached, then cutoff
  ASSERT_EQ(Counter("used_blocks"), 32u + 64u);
  CommandResult r = RunCommand(
      {WtcachefsBinary(), "invalidate", mount_->view(), mount_->ViewPath("hot")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Counter("used_blocks"), 64u) << "only the hot file's blocks go";
  r = RunCommand({WtcachefsBinary(), "invalidate", mount_->view()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Counter("used_blocks"), 0u);
  EXPECT_EQ(ReadFile(mount_->ViewPath("hot")), Pattern(2 * kMiB, 1)) << "data must not change";
}

TEST_F(CachePolicyTest, WarmPullsWholeFilesInPastTheCutoffAndFilter) {
  ASSERT_TRUE(MountWith({"--promote-after", "3"})) << mount_->failure();
  ::mkdir(mount_->ViewPath("dir").c_str(), 0755);
  WriteFile(mount_->ViewPath("dir/small"), Pattern(kMiB, 4));
  RunCommand({WtcachefsBinary(), "invalidate", mount_->view()});
  const CommandResult r = RunCommand(
      {WtcachefsBinary(), "warm", mount_->ViewPath("cold"), mount_->ViewPath("dir")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("warmed 2 files, 17.0 MiB"), std::string::npos) << r.out;
  // Every block was promoted, past the 4 MiB cutoff and the filter's 3 misses
  // (the 8 MiB cache evicts by policy to take the 16 MiB file).
  EXPECT_GE(Counter("promotions"), 16u * 17u);
  const uint64_t hits = Counter("read_hits");
  EXPECT_EQ(ReadDirect(mount_->ViewPath("dir/small")), kMiB);
  EXPECT_EQ(Counter("read_hits"), hits + 1) << "a warmed file must be read from the cache";
}

TEST_F(CachePolicyTest, ControlCommandsRefuseWhatIsNotAView) {
  ASSERT_TRUE(MountWith({})) << mount_->failure();
  CommandResult r = RunCommand({WtcachefsBinary(), "invalidate", mount_->origin()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not the mount point of a wtcachefs view"), std::string::npos) << r.err;
  r = RunCommand({WtcachefsBinary(), "warm", mount_->OriginPath("hot")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not in a mounted wtcachefs view"), std::string::npos) << r.err;
  r = RunCommand({WtcachefsBinary(), "warm", mount_->ViewPath("missing")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

TEST_F(CachePolicyTest, TuneChangesSettingsWhileMounted) {
  ASSERT_TRUE(MountWith({"--sequential-cutoff", "0"})) << mount_->failure();
  CommandResult r = RunCommand(
      {WtcachefsBinary(), "tune", mount_->view(), "sequential_cutoff=1M", "write-policy=around"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadDirect(mount_->ViewPath("cold")), 16 * kMiB);
  // Past the first MiB the scan goes around the cache.
  EXPECT_GE(Counter("bypasses"), 200u);
  EXPECT_LE(Counter("used_blocks"), 56u);
  WriteFile(mount_->ViewPath("new"), Pattern(kMiB, 5));
  EXPECT_LE(Counter("used_blocks"), 56u) << "write-around: write misses are not cached";

  r = RunCommand({WtcachefsBinary(), "tune", mount_->view(), "policy=lru"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("policy cannot be changed while mounted"), std::string::npos) << r.err;
  // One setting per argument: a comma must not smuggle in one that needs a remount.
  r = RunCommand({WtcachefsBinary(), "tune", mount_->view(), "sequential_cutoff=8M,policy=lru"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("more than one setting"), std::string::npos) << r.err;
  r = RunCommand({WtcachefsBinary(), "tune", mount_->view(), "promote_after=zero"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("promote_after=zero"), std::string::npos) << r.err;
  r = RunCommand({WtcachefsBinary(), "tune", mount_->origin(), "log_level=info"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CachePolicyTest, BadPolicyOptionsAreRefusedByName) {
  // Each: the arguments, and the option the message must name.
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--policy", "mru"}, "policy=mru"},
      {{"-o", "write_policy=back"}, "write_policy=back"},
      {{"--promote-after", "0"}, "promote_after=0"},
      {{"-o", "sequential_cutoff=lots"}, "sequential_cutoff"}};
  for (const auto& [args, named] : cases) {
    TempDir dir;
    std::vector<std::string> argv = {WtcachefsBinary(), dir.Sub("o"), dir.Sub("c"), dir.Sub("v")};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = RunCommand(argv, std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 1) << named;
    EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
    EXPECT_FALSE(IsMountPoint(dir.Sub("v", false)));
  }
}

}  // namespace
}  // namespace wtcachefs::testing
