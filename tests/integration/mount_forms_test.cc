// SPDX-License-Identifier: Apache-2.0
// Every form in which wtcachefs is mounted and stopped: the direct form (which
// detaches only once the view is mounted), -f with SIGINT / SIGTERM / SIGHUP, the
// mount-helper form, `mount -t fuse.wtcachefs` and fstab lines (`mount -a`,
// `mount VIEW`). Every test unmounts in teardown, also when it fails.
//
// The caches are kept small (cache_size=64M): the default, a tenth of the cache
// filesystem, would preallocate gigabytes on the shared test machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_fixtures.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

class MountFormsTest : public ::testing::Test {
 protected:
  // A view that reads origin's files and writes through to origin.
  void ExpectServes(const std::string& origin, const std::string& view) {
    const std::string tag = std::to_string(++files_);
    WriteFile(origin + "/from-origin-" + tag, "origin bytes " + tag);
    EXPECT_EQ(ReadFile(view + "/from-origin-" + tag), "origin bytes " + tag);
    WriteFile(view + "/from-view-" + tag, "view bytes " + tag);
    EXPECT_EQ(ReadFile(origin + "/from-view-" + tag), "view bytes " + tag);
  }

  // The view is mounted, served, and owned by one detached daemon.
  void ExpectDetachedDaemonServes(const std::string& origin, const std::string& view) {
    EXPECT_TRUE(IsWtcachefsMount(view)) << "returned before the view was mounted";
    ExpectServes(origin, view);
    const std::vector<pid_t> daemons = LiveDaemonsFor(view);
    ASSERT_EQ(daemons.size(), 1u) << "one daemon serves " << view;
    const std::string stat = ReadFile("/proc/" + std::to_string(daemons[0]) + "/stat");
    const std::string after_name = stat.substr(stat.rfind(')') + 2);
    int ppid = 0, pgrp = 0, session = 0;
    char state = '?';
    ASSERT_EQ(std::sscanf(after_name.c_str(), "%c %d %d %d", &state, &ppid, &pgrp, &session),
              4);
    EXPECT_NE(ppid, ::getpid()) << "the daemon is not detached from its caller";
    EXPECT_EQ(session, daemons[0]) << "the daemon leads its own session (setsid)";
  }

  // Unmounts with `command` (fusermount3 -u or umount) and checks that the view is
  // gone and that the daemon exited (or is a zombie nobody reaps).
  void ExpectStopsWith(const std::vector<std::string>& command, const std::string& view) {
    const CommandResult r = RunCommand(command, std::chrono::seconds(30));
    ASSERT_EQ(r.exit_code, 0) << command[0] << ": " << r.err;
    EXPECT_FALSE(IsMountPoint(view)) << command[0] << " left the view mounted";
    EXPECT_TRUE(WaitForNoLiveDaemon(view)) << "the daemon outlived its mount";
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
  ViewTeardown teardown_{view_};
  int files_ = 0;
};

TEST_F(MountFormsTest, DirectFormReturnsOnlyOnceMountedAndFusermountStopsTheDaemon) {
  const CommandResult r = RunCommand(
      {WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Checked at once, no waiting: the caller may use the view when we return.
  ExpectDetachedDaemonServes(origin_, view_);
  EXPECT_TRUE(r.err.empty()) << "a successful mount prints nothing: " << r.err;
  ExpectStopsWith({"fusermount3", "-u", view_}, view_);
}

// The detached daemon keeps no copy of the caller's stdout or stderr: a pipe
// from `wtcachefs ... 2>&1 | cat` ends when the mount command returns.
TEST_F(MountFormsTest, DetachedDaemonLetsGoOfTheCallersOutput) {
  const std::string command = "'" + WtcachefsBinary() + "' '" + origin_ + "' '" + cache_ +
                              "' '" + view_ + "' --cache-size 64M 2>&1 | cat";
  const CommandResult r = RunCommand({"sh", "-c", command}, std::chrono::seconds(20));
  EXPECT_FALSE(r.timed_out) << "the daemon held the pipe open";
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"fusermount3", "-u", view_}, view_);
}

TEST_F(MountFormsTest, DirectFormAcceptsSpacesAndCommasInPaths) {
  const std::string origin = dir_.Sub("slow origin, with comma");
  const std::string cache = dir_.Sub("fast cache");
  const std::string view = dir_.Sub("my view");
  ViewTeardown teardown(view);
  const CommandResult r = RunCommand(
      {WtcachefsBinary(), origin, cache, view, "-o", "cache_size=64M"}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin, view);
  ExpectStopsWith({"fusermount3", "-u", view}, view);
}

TEST_F(MountFormsTest, DirectFormWithRelativePathsMountsTheirAbsoluteForms) {
  // The daemon changes directory to /: relative paths must have been resolved.
  const CommandResult r = RunCommand(
      {"sh", "-c",
       "cd \"$1\" && exec \"$2\" origin cache view --cache-size 64M", "sh", dir_.path(),
       WtcachefsBinary()},
      std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_)) << "returned before the view was mounted";
  ExpectServes(origin_, view_);
  // The daemon's command line holds the relative paths it was given.
  const std::vector<std::string> daemon_args = {WtcachefsBinary(), "origin", "cache", "view"};
  EXPECT_EQ(LiveDaemonsWithArgs(daemon_args).size(), 1u);
  ExpectStopsWith({"fusermount3", "-u", view_}, view_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!LiveDaemonsWithArgs(daemon_args).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(LiveDaemonsWithArgs(daemon_args).empty()) << "the daemon outlived its mount";
}

class MountFormsForegroundTest : public MountFormsTest,
                             public ::testing::WithParamInterface<int> {};

TEST_P(MountFormsForegroundTest, StaysInTheForegroundAndStopsCleanlyOnTheSignal) {
  ChildProcess daemon(
      {WtcachefsBinary(), origin_, cache_, view_, "-f", "-o", "cache_size=64M"});
  ASSERT_TRUE(WaitForMountState(view_, true)) << daemon.Wait(std::chrono::seconds(1)).err;
  ASSERT_TRUE(daemon.Running()) << "-f must not detach";
  EXPECT_EQ(LiveDaemonsFor(view_), std::vector<pid_t>{daemon.pid()})
      << "the foreground process itself serves the view";
  ExpectServes(origin_, view_);
  daemon.Signal(GetParam());
  const CommandResult r = daemon.Wait(std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << strsignal(GetParam()) << ": " << r.err;
  EXPECT_EQ(r.signal, 0) << "killed by the signal instead of stopping cleanly";
  EXPECT_FALSE(IsMountPoint(view_)) << "still mounted after " << strsignal(GetParam());
  EXPECT_TRUE(r.err.empty()) << "a clean stop prints nothing: " << r.err;
  // A clean stop leaves a cache that mounts again and serves what was written.
  ChildProcess remount(
      {WtcachefsBinary(), origin_, cache_, view_, "-f", "-o", "cache_size=64M"});
  ASSERT_TRUE(WaitForMountState(view_, true)) << remount.Wait(std::chrono::seconds(1)).err;
  EXPECT_EQ(ReadFile(view_ + "/from-view-1"), "view bytes 1");
  remount.Signal(SIGTERM);
  const CommandResult remount_result = remount.Wait(std::chrono::seconds(30));
  EXPECT_EQ(remount_result.exit_code, 0)
      << "signal " << remount_result.signal << ": " << remount_result.err;
}

INSTANTIATE_TEST_SUITE_P(Signals, MountFormsForegroundTest,
                         ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::string(sigabbrev_np(param_info.param));
                         });

TEST_F(MountFormsTest, HelperFormTakesTheCacheAsAnOption) {
  const CommandResult r =
      RunCommand({WtcachefsBinary(), origin_, view_, "-o", "cache=" + cache_ + ",cache_size=64M"},
                 std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"fusermount3", "-u", view_}, view_);
}

TEST_F(MountFormsTest, HelperFormAcceptsWhatMountFuse3Passes) {
  // mount.fuse3 calls: wtcachefs ORIGIN VIEW -o rw,cache=CACHE,allow_other,dev,suid
  const CommandResult r = RunCommand(
      {WtcachefsBinary(), origin_, view_, "-o",
       "rw,cache=" + cache_ + ",cache_size=64M,allow_other,nodev,nosuid,noexec"},
      std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  const std::string super_options = SuperOptionsOf(view_);
  EXPECT_NE(super_options.find("allow_other"), std::string::npos) << super_options;
  ExpectStopsWith({"fusermount3", "-u", view_}, view_);
}

// ---- mount(8): mount -t fuse.wtcachefs, fstab -------------------------------------

class MountFormsViaMountCommandTest : public MountFormsTest {
 protected:
  void SetUp() override {
    installed_ = std::make_unique<InstalledBinary>();
    if (!installed_->skip_reason().empty()) GTEST_SKIP() << installed_->skip_reason();
  }
  void TearDown() override {
    // Unmount before the binary disappears from /usr/local/bin.
    ViewTeardown now(view_);
  }

  std::string WriteFstab(const std::string& line) {
    const std::string fstab = dir_.path() + "/fstab";
    std::ofstream(fstab) << "# wtcachefs test fstab\n" << line << "\n";
    return fstab;
  }

  std::unique_ptr<InstalledBinary> installed_;
};

TEST_F(MountFormsViaMountCommandTest, MountTypeFuseWtcachefs) {
  const CommandResult r = RunCommand({"mount", "-t", "fuse.wtcachefs", origin_, view_, "-o",
                                      "cache=" + cache_ + ",cache_size=64M"},
                                     std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"umount", view_}, view_);
}

TEST_F(MountFormsViaMountCommandTest, MountTypeFuseWtcachefsReportsBadPathsWithTheirExitCode) {
  const std::string missing = dir_.Sub("no-such-origin", false);
  const CommandResult r = RunCommand({"mount", "-t", "fuse.wtcachefs", missing, view_, "-o",
                                      "cache=" + cache_ + ",cache_size=64M"},
                                     std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("wtcachefs: origin '" + missing + "' does not exist"), std::string::npos)
      << r.err;
  EXPECT_FALSE(IsMountPoint(view_));
}

TEST_F(MountFormsViaMountCommandTest, FstabLineMountsWithMountAllAndByMountPoint) {
  const std::string fstab = WriteFstab(origin_ + " " + view_ + " fuse.wtcachefs cache=" + cache_ +
                                       ",cache_size=64M,allow_other 0 0");
  CommandResult r = RunCommand({"mount", "-a", "-T", fstab}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  EXPECT_NE(SuperOptionsOf(view_).find("allow_other"), std::string::npos)
      << SuperOptionsOf(view_);
  ExpectStopsWith({"umount", view_}, view_);

  r = RunCommand({"mount", "-T", fstab, view_}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"umount", view_}, view_);
}

// A size at remount means bytes, counted in the cache's own blocks, in every
// form a size is given: a cache of 4 KiB blocks keeps them, and its 16,384
// blocks, where the default block size would make it 1,024; another
// --block-size is refused and drops nothing.
TEST_F(MountFormsViaMountCommandTest, EveryFormOfASizeCountsAnExistingCachesOwnBlocks) {
  WriteFile(origin_ + "/data", std::string(1 << 20, 'd'));
  const auto expect_cache_kept = [&](const std::string& form, uint64_t used) {
    SCOPED_TRACE(form);
    EXPECT_EQ(StatusCounter(view_, "total_blocks"), 16384u);
    EXPECT_EQ(StatusCounter(view_, "block_size"), 4096u);
    EXPECT_EQ(StatusCounter(view_, "used_blocks"), used) << "blocks were dropped";
    ExpectStopsWith({"umount", view_}, view_);
  };
  CommandResult r = RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M",
                                "--block-size", "4K"},
                               std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(ReadFileDirect(view_ + "/data"), std::string(1 << 20, 'd'));
  const uint64_t used = StatusCounter(view_, "used_blocks");
  ASSERT_GT(used, 0u);
  expect_cache_kept("created", used);

  r = RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"},
                 std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cache_kept("--cache-size 64M", used);
  r = RunCommand({WtcachefsBinary(), origin_, view_, "-o", "cache=" + cache_ + ",cache_size=64M"},
                 std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cache_kept("-o cache_size=64M", used);
  const std::string fstab = WriteFstab(origin_ + " " + view_ + " fuse.wtcachefs cache=" + cache_ +
                                       ",cache_size=64M 0 0");
  r = RunCommand({"mount", "-T", fstab, view_}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cache_kept("fstab", used);

  r = RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M",
                  "--block-size", "64K"},
                 std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  for (const char* named : {"block size 4096, not 65536", "--reset-cache"}) {
    EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
  }
  EXPECT_FALSE(IsMountPoint(view_));
  r = RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"},
                 std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cache_kept("after the refusal", used);
}

TEST_F(MountFormsViaMountCommandTest, FstabLineWithNofailAndSystemdOptions) {
  const std::string fstab =
      WriteFstab(origin_ + " " + view_ + " fuse.wtcachefs cache=" + cache_ +
                 ",cache_size=64M,allow_other,nofail,x-systemd.requires-mounts-for=" + cache_ +
                 " 0 0");
  CommandResult r = RunCommand({"mount", "-a", "-T", fstab}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"umount", view_}, view_);

  r = RunCommand({"mount", "-T", fstab, view_}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin_, view_);
  ExpectStopsWith({"umount", view_}, view_);
}

TEST_F(MountFormsViaMountCommandTest, FstabLineWithEscapedSpacesInPaths) {
  const std::string origin = dir_.Sub("slow origin");
  const std::string cache = dir_.Sub("fast cache");
  const std::string view = dir_.Sub("my view");
  ViewTeardown teardown(view);
  auto escaped = [](std::string path) {
    for (size_t at; (at = path.find(' ')) != std::string::npos;) path.replace(at, 1, "\\040");
    return path;
  };
  const std::string fstab = WriteFstab(escaped(origin) + " " + escaped(view) +
                                       " fuse.wtcachefs cache=" + escaped(cache) +
                                       ",cache_size=64M 0 0");
  const CommandResult r = RunCommand({"mount", "-T", fstab, view}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectDetachedDaemonServes(origin, view);
  ExpectStopsWith({"umount", view}, view);
}

}  // namespace
}  // namespace wtcachefs::testing
