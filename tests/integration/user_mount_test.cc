// SPDX-License-Identifier: Apache-2.0
// Unprivileged use (README "Unprivileged use"): an ordinary user (uid 65534)
// mounts through the setuid fusermount3 with the cache in a directory of their
// own home, writes and reads through the view, and unmounts with
// `fusermount3 -u`; the daemon then shuts the cache down cleanly and nothing
// stays mounted. -o allow_other needs the line user_allow_other in
// /etc/fuse.conf, and without it is refused before anything is mounted.
//
// Each test runs in a private mount namespace of its own, where /dev/fuse is open
// to all (as on a stock system; a container's node may be root's alone) and
// /etc/fuse.conf is a file the test writes: no other process sees either.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "integration/cli_fixtures.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr uid_t kNobody = 65534;

bool HasToken(const std::string& options, const std::string& token) {
  return ("," + options + ",").find("," + token + ",") != std::string::npos;
}

class UserMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = UserMountsUnavailable(); !why.empty()) GTEST_SKIP() << why;
    std::string why;
    ASSERT_TRUE(EnterPrivateMountNamespace(&why)) << why;
    ASSERT_TRUE(BindFuseDeviceOpenToAll(dir_.path(), &why)) << why;
    // Debian's own fuse.conf: the line is there, commented out.
    WriteFile(fuse_conf_, "# fuse.conf written by the test\n#user_allow_other\n");
    ASSERT_TRUE(BindFileOver(fuse_conf_, "/etc/fuse.conf", &why)) << why;
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    std::filesystem::create_directories(cache_);
    for (const std::string& d : {home_, home_ + "/.cache", cache_, origin_, view_}) {
      ASSERT_EQ(::chown(d.c_str(), kNobody, kNobody), 0) << d;
      ASSERT_EQ(::chmod(d.c_str(), 0755), 0) << d;
    }
  }

  // `wtcachefs args... --cache-size 64M` run as uid 65534.
  CommandResult RunAsNobody(std::vector<std::string> argv) {
    return RunWithSetup(BecomeNobody, argv, std::chrono::seconds(60));
  }
  std::vector<std::string> MountCommand(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {WtcachefsBinary(), origin_, cache_, view_,
                                     "--cache-size", "64M"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  // Unmounts as the user and waits for the daemon to be gone.
  void UnmountAsNobody() {
    const CommandResult unmount = RunAsNobody({"fusermount3", "-u", view_});
    EXPECT_EQ(unmount.exit_code, 0) << unmount.err;
    EXPECT_TRUE(WaitForMountState(view_, false));
    EXPECT_TRUE(WaitForNoLiveDaemon(view_)) << "the daemon did not exit";
    EXPECT_FALSE(IsMountPoint(view_)) << "something is left mounted";
  }

  TempDir dir_;
  std::string fuse_conf_ = dir_.Sub("fuse.conf", false);
  std::string home_ = dir_.Sub("home");
  std::string cache_ = home_ + "/.cache/wtcachefs";
  std::string origin_ = dir_.Sub("origin");
  std::string view_ = dir_.Sub("view");
  ViewTeardown teardown_{view_};
};

// Detached (what users type) and in the foreground (a user's systemd unit).
class UserMountFormTest : public UserMountTest,
                          public ::testing::WithParamInterface<bool> {};

TEST_P(UserMountFormTest, UserMountsWithTheCacheInTheirHomeAndUnmountsWithFusermount3) {
  const bool foreground = GetParam();
  std::unique_ptr<ChildProcess> daemon;
  if (foreground) {
    std::string failure;
    daemon = StartForegroundMount({"setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups", WtcachefsBinary(), origin_, cache_,
                                   view_, "-f", "--cache-size", "64M"},
                                  view_, &failure);
    ASSERT_NE(daemon, nullptr) << "as uid 65534: " << failure;
  } else {
    const CommandResult mounted = RunAsNobody(MountCommand());
    ASSERT_EQ(mounted.exit_code, 0) << "as uid 65534: " << mounted.err;
    EXPECT_EQ(mounted.err, "") << "a user mount must not warn";
  }
  ASSERT_TRUE(IsWtcachefsMount(view_));
  EXPECT_TRUE(HasToken(SuperOptionsOf(view_), "user_id=65534")) << SuperOptionsOf(view_);

  // The user writes a file through the view and reads it back; it is on origin.
  const std::string payload_path = dir_.Sub("payload", false);
  const std::string payload = Pattern(3 << 20, 18);
  WriteFile(payload_path, payload);
  ASSERT_EQ(::chmod(payload_path.c_str(), 0644), 0);
  CommandResult r = RunAsNobody({"cp", payload_path, view_ + "/file"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunAsNobody({"cmp", view_ + "/file", payload_path});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(ReadFile(origin_ + "/file") == payload) << "origin does not hold the bytes";
  struct stat written;
  ASSERT_EQ(::stat((origin_ + "/file").c_str(), &written), 0);
  EXPECT_EQ(written.st_uid, kNobody);
  r = RunAsNobody({WtcachefsBinary(), "status", view_, "--line"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mode=normal"), std::string::npos) << r.out;

  UnmountAsNobody();
  if (daemon) {
    const CommandResult exited = daemon->Wait(std::chrono::seconds(20));
    EXPECT_EQ(exited.exit_code, 0) << "signal " << exited.signal << ", stderr: " << exited.err;
  }
  // The daemon closed the cache cleanly: the user's own check says so.
  r = RunAsNobody({WtcachefsBinary(), "check", cache_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("shut down cleanly"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("not shut down cleanly"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Forms, UserMountFormTest, ::testing::Values(false, true),
                         [](const auto& form) { return form.param ? "Foreground" : "Detached"; });

TEST_F(UserMountTest, AllowOtherWithoutUserAllowOtherInFuseConfIsRefusedBeforeMounting) {
  const std::vector<std::vector<std::string>> forms = {
      MountCommand({"-o", "allow_other"}),
      {WtcachefsBinary(), origin_, view_, "-o", "cache=" + cache_ + ",allow_other,cache_size=64M"},
  };
  for (const std::vector<std::string>& argv : forms) {
    const CommandResult r = RunAsNobody(argv);
    SCOPED_TRACE("exit " + std::to_string(r.exit_code) + ", stderr: " + r.err);
    EXPECT_EQ(r.exit_code, kExitUsage);
    EXPECT_EQ(r.err.rfind("wtcachefs: ", 0), 0u);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line";
    EXPECT_NE(r.err.find("option allow_other"), std::string::npos);
    EXPECT_NE(r.err.find("add that line to /etc/fuse.conf"), std::string::npos);
    EXPECT_NE(r.err.find("holds the line user_allow_other"), std::string::npos);
    EXPECT_FALSE(IsMountPoint(view_));
    EXPECT_TRUE(LiveDaemonsFor(view_).empty());
    EXPECT_FALSE(std::filesystem::exists(cache_ + "/lock")) << "the cache was touched";
  }
}

TEST_F(UserMountTest, AllowOtherWithUserAllowOtherInFuseConfMounts) {
  WriteFile(fuse_conf_, "# fuse.conf written by the test\nuser_allow_other\n");
  const CommandResult r = RunAsNobody(MountCommand({"-o", "allow_other"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(HasToken(SuperOptionsOf(view_), "allow_other")) << SuperOptionsOf(view_);
  EXPECT_TRUE(HasToken(SuperOptionsOf(view_), "user_id=65534")) << SuperOptionsOf(view_);
  UnmountAsNobody();
}

}  // namespace
}  // namespace wtcachefs::testing
