// Every way a user starts and stops a wtcachefs mount: the direct form (which
// detaches), -f, signals, the mount-helper form, mount -t and fstab.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

// Pids of processes whose command line mentions `view` and that have not exited
// (zombies, state Z, have exited: a sandbox init may not reap them).
std::vector<pid_t> LiveDaemonsFor(const std::string& view) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  while (const dirent* e = proc ? ::readdir(proc) : nullptr) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = ReadFile("/proc/" + std::string(e->d_name) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("wtcachefs") == std::string::npos ||
        cmdline.find(view) == std::string::npos) {
      continue;
    }
    const std::string stat = ReadFile("/proc/" + std::string(e->d_name) + "/stat");
    const size_t close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && stat.size() > close_paren + 2 &&
        stat[close_paren + 2] == 'Z') {
      continue;
    }
    pids.push_back(pid);
  }
  if (proc) ::closedir(proc);
  return pids;
}

bool WaitForNoDaemon(const std::string& view) {
  for (int i = 0; i < 500; ++i) {
    if (LiveDaemonsFor(view).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class MountEntryPointsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Whatever happened, leave nothing mounted and no daemon behind.
    if (IsMountPoint(view_)) RunCommand({"fusermount3", "-u", "-z", view_});
    for (pid_t pid : LiveDaemonsFor(view_)) ::kill(pid, SIGKILL);
  }
  void ExpectServes() {
    WriteFile(origin_ + "/from-origin", "origin bytes");
    EXPECT_EQ(ReadFile(view_ + "/from-origin"), "origin bytes");
    WriteFile(view_ + "/from-view", "view bytes");
    EXPECT_EQ(ReadFile(origin_ + "/from-view"), "view bytes");
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("slow origin");  // spaces in paths must work
  std::string cache_ = dir_.Sub("fast,cache");   // so must commas
  std::string view_ = dir_.Sub("view");
};

TEST_F(MountEntryPointsTest, DirectFormDetachesOnlyOnceMountedAndFusermountStopsIt) {
  const CommandResult r =
      RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_)) << "returned before the mount was in place";
  ExpectServes();
  ASSERT_EQ(RunCommand({"fusermount3", "-u", view_}).exit_code, 0);
  EXPECT_FALSE(IsMountPoint(view_));
  EXPECT_TRUE(WaitForNoDaemon(view_)) << "the daemon outlived its mount";
}

TEST_F(MountEntryPointsTest, ForegroundStopsCleanlyOnSigintAndSigterm) {
  for (int signal : {SIGINT, SIGTERM}) {
    ChildProcess daemon({WtcachefsBinary(), origin_, cache_, view_, "-f", "-o", "cache_size=64M"});
    ASSERT_TRUE(WaitForMountState(view_, true));
    ExpectServes();
    daemon.Signal(signal);
    const CommandResult r = daemon.Wait(std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 0) << "signal " << signal << ": " << r.err;
    EXPECT_FALSE(IsMountPoint(view_)) << "signal " << signal;
  }
}

TEST_F(MountEntryPointsTest, HelperFormTakesTheCacheAsAnOption) {
  ChildProcess daemon(
      {WtcachefsBinary(), origin_, view_, "-o", "rw,cache=" + std::string(cache_).replace(cache_.find(','), 1, "\\,") + ",dev,suid,cache_size=64M", "-f"});
  ASSERT_TRUE(WaitForMountState(view_, true)) << daemon.Wait(std::chrono::seconds(1)).err;
  ExpectServes();
  ASSERT_EQ(RunCommand({"fusermount3", "-u", view_}).exit_code, 0);
  EXPECT_EQ(daemon.Wait(std::chrono::seconds(20)).exit_code, 0);
}

// Puts the binary where mount(8)'s helper finds it, for the life of the guard.
class InstalledBinary {
 public:
  InstalledBinary() {
    struct stat st;
    if (::lstat(kPath, &st) == 0) {
      char target[4096] = {};
      ::readlink(kPath, target, sizeof(target) - 1);
      usable_ = S_ISLNK(st.st_mode) && WtcachefsBinary() == target;
      return;  // someone else's file: leave it alone
    }
    created_ = ::symlink(WtcachefsBinary().c_str(), kPath) == 0;
    usable_ = created_;
  }
  ~InstalledBinary() {
    if (created_) ::unlink(kPath);
  }
  bool usable() const { return usable_; }

 private:
  static constexpr const char* kPath = "/usr/local/bin/wtcachefs";
  bool created_ = false;
  bool usable_ = false;
};

class MountCommandTest : public MountEntryPointsTest {
 protected:
  void SetUp() override {
    if (!installed_.usable()) GTEST_SKIP() << "/usr/local/bin/wtcachefs is not ours";
    // mount(8) splits fstab fields at spaces; use simple paths here.
    origin_ = dir_.Sub("origin");
    cache_ = dir_.Sub("cache");
  }
  InstalledBinary installed_;
};

TEST_F(MountCommandTest, MountTypeFuseWtcachefsWorks) {
  const CommandResult r =
      RunCommand({"mount", "-t", "fuse.wtcachefs", origin_, view_, "-o",
                  "cache=" + cache_ + ",cache_size=64M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_));
  ExpectServes();
  EXPECT_EQ(RunCommand({"umount", view_}).exit_code, 0);
  EXPECT_FALSE(IsMountPoint(view_));
  EXPECT_TRUE(WaitForNoDaemon(view_));
}

TEST_F(MountCommandTest, FstabEntriesMountWithMountAll) {
  const std::string fstab = dir_.path() + "/fstab";
  std::ofstream(fstab) << "# wtcachefs test fstab\n"
                       << origin_ << " " << view_ << " fuse.wtcachefs cache=" << cache_
                       << ",cache-size=64M"
                       << ",allow_other,nofail,x-systemd.requires-mounts-for=" << cache_
                       << " 0 0\n";
  CommandResult r = RunCommand({"mount", "-a", "-T", fstab});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_));
  ExpectServes();
  ASSERT_EQ(RunCommand({"umount", view_}).exit_code, 0);
  EXPECT_TRUE(WaitForNoDaemon(view_));
  // By mount point alone, as `mount /mnt/view` does with /etc/fstab.
  r = RunCommand({"mount", "-T", fstab, view_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_));
  ASSERT_EQ(RunCommand({"umount", view_}).exit_code, 0);
}

}  // namespace
}  // namespace wtcachefs::testing
