// SPDX-License-Identifier: Apache-2.0
// A mount right after an unmount of the same cache: `umount` returns before the
// old daemon has shut the cache down and let go of its lock, so a new mount (or
// `wtcachefs check`) whose lock holder no longer has its view mounted waits for
// it, saying so; a holder whose view is still mounted is refused at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/exit_codes.h"
#include "integration/cli_fixtures.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RemountTest : public ::testing::Test {
 protected:
  // The direct form as users type it: returns once mounted (or failed).
  CommandResult Mount() {
    return RunCommand({WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"},
                      seconds(60));
  }
  CommandResult Check() { return RunCommand({WtcachefsBinary(), "check", cache_}, seconds(60)); }

  // Takes the cache's lock as a holder serving `view` would (pid: this
  // process), and lets go of it after `hold` on a thread of its own.
  void HoldLockNaming(const std::string& view, milliseconds hold) {
    lock_.reset(::open((cache_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(lock_.valid());
    ASSERT_EQ(::flock(lock_.get(), LOCK_EX | LOCK_NB), 0);
    const std::string text = std::to_string(::getpid()) + "\n" + view + "\n";
    ASSERT_EQ(::pwrite(lock_.get(), text.data(), text.size(), 0),
              static_cast<ssize_t>(text.size()));
    releaser_ = std::thread([this, hold] {
      std::this_thread::sleep_for(hold);
      lock_.reset();
    });
  }
  void TearDown() override {
    if (releaser_.joinable()) releaser_.join();
  }
  std::string WaitingMessage() const {
    return "waiting for the previous wtcachefs (pid " + std::to_string(::getpid()) +
           ") to release cache '" + cache_ + "'";
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
  ViewTeardown teardown_{view_};
  UniqueFd lock_;
  std::thread releaser_;
};

TEST_F(RemountTest, TenRemountsRightAfterUnmountingAfterLargeWritesAllSucceed) {
  CommandResult r = Mount();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string content;
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Tens of MB the old daemon must make durable on origin while shutting down.
    content = Pattern(24 << 20, static_cast<uint32_t>(round));
    WriteFile(view_ + "/big", content);
    const std::vector<std::string> unmount = round % 2 == 0
                                                 ? std::vector<std::string>{"umount", view_}
                                                 : std::vector<std::string>{"fusermount3", "-u", view_};
    r = RunCommand(unmount, seconds(30));
    ASSERT_EQ(r.exit_code, 0) << unmount[0] << ": " << r.err;
    r = Mount();
    ASSERT_EQ(r.exit_code, 0) << "remount right after " << unmount[0] << ": " << r.err;
    ASSERT_TRUE(IsWtcachefsMount(view_));
    // The old daemon left within the second: no word of waiting for it.
    EXPECT_EQ(r.err.find("waiting"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(ReadFile(view_ + "/big") == content);
  EXPECT_TRUE(ReadFile(origin_ + "/big") == content);
  // `wtcachefs check` right after an unmount waits the same way.
  r = RunCommand({"umount", view_}, seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Check();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("shut down cleanly"), std::string::npos) << r.out;
  EXPECT_TRUE(WaitForNoLiveDaemon(view_));
}

// Held for 3 s: the message comes once the wait has lasted a second, and the
// mount may take a while to reach the lock (a sanitizer build starts slowly).
TEST_F(RemountTest, MountWaitsForAHolderWhoseViewIsGoneAndSaysSo) {
  HoldLockNaming(dir_.Sub("old-view"), milliseconds(3000));
  const auto started = std::chrono::steady_clock::now();
  const CommandResult r = Mount();
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(2900));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(WaitingMessage()), std::string::npos) << r.err;
  EXPECT_TRUE(IsWtcachefsMount(view_));
  EXPECT_EQ(RunCommand({"fusermount3", "-u", view_}).exit_code, 0);
  EXPECT_TRUE(WaitForNoLiveDaemon(view_));
}

TEST_F(RemountTest, CheckWaitsForAHolderWhoseViewIsGoneAndSaysSo) {
  MountedView mount;  // a cache to check
  ASSERT_TRUE(mount.ok()) << mount.failure();
  ASSERT_TRUE(mount.Unmount());
  cache_ = mount.cache();
  HoldLockNaming(dir_.Sub("old-view"), milliseconds(3000));
  const CommandResult r = Check();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("wtcachefs check: " + WaitingMessage()), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("consistent"), std::string::npos) << r.out;
}

TEST_F(RemountTest, MountOfACacheWhoseHolderStillServesItsViewFailsAtOnce) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  cache_ = mount.cache();
  const auto started = std::chrono::steady_clock::now();
  const CommandResult r = Mount();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(10)) << "it waited";
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("in use by another wtcachefs mount (pid " +
                       std::to_string(mount.daemon_pid()) + ", view '" + mount.view() + "')"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("waiting"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMountPoint(view_));
  const CommandResult check = Check();
  EXPECT_EQ(check.exit_code, kExitBadPath);
  EXPECT_NE(check.err.find("in use"), std::string::npos) << check.err;
  EXPECT_TRUE(mount.Unmount());
}

}  // namespace
}  // namespace wtcachefs::testing
