// SPDX-License-Identifier: Apache-2.0
// `wtcachefs check CACHE [--repair]`, a damaged slot file at mount, and
// readiness for systemd (Type=notify) on a real mount.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/exit_codes.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kMiB = 1 << 20;

CommandResult Check(const std::string& cache, bool repair = false) {
  std::vector<std::string> argv = {WtcachefsBinary(), "check", cache};
  if (repair) argv.push_back("--repair");
  return RunCommand(argv, std::chrono::seconds(30));
}

// A cache with 32 blocks of one 2 MiB file, cleanly unmounted.
class CheckCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mount_.ok()) << mount_.failure();
    WriteFile(mount_.OriginPath("f"), Pattern(2 * kMiB, 9));
    ASSERT_EQ(ReadFile(mount_.ViewPath("f")), Pattern(2 * kMiB, 9));
    ASSERT_TRUE(mount_.Unmount());
  }
  std::string Slots() { return mount_.cache() + "/slots"; }

  MountedView mount_;
};

TEST_F(CheckCommandTest, CleanCacheIsConsistent) {
  const CommandResult r = Check(mount_.cache());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("32 mapped blocks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shut down cleanly"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consistent"), std::string::npos) << r.out;
}

TEST_F(CheckCommandTest, MountedCacheIsRefused) {
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  const CommandResult r = Check(mount_.cache());
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
}

TEST_F(CheckCommandTest, DirectoryWithoutACacheIsRefused) {
  const CommandResult r = Check(mount_.origin());
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_NE(r.err.find("holds no wtcachefs cache"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(mount_.origin() + "/lock")) << "check wrote into it";
}

TEST_F(CheckCommandTest, TruncatedSlotFileIsFoundAndRepaired) {
  ASSERT_EQ(::truncate(Slots().c_str(), 1 << 20), 0);  // keeps 16 of the cache's slots
  CommandResult r = Check(mount_.cache());
  EXPECT_EQ(r.exit_code, kExitRuntime) << r.out;
  EXPECT_NE(r.out.find("mappings point past the slot file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--repair"), std::string::npos) << r.out;
  r = Check(mount_.cache(), /*repair=*/true);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("repaired: deleted"), std::string::npos) << r.out;
  r = Check(mount_.cache());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(ReadFile(mount_.ViewPath("f")), Pattern(2 * kMiB, 9));
}

TEST_F(CheckCommandTest, UnreadableMetadataIsResetByRepair) {
  for (const auto& entry : std::filesystem::directory_iterator(mount_.cache() + "/meta")) {
    if (entry.path().extension() == ".sst" || entry.path().extension() == ".log" ||
        entry.path().filename().string().starts_with("MANIFEST")) {
      std::ofstream(entry.path(), std::ios::trunc) << "garbage";
    }
  }
  CommandResult r = Check(mount_.cache());
  EXPECT_EQ(r.exit_code, kExitRuntime) << r.out << r.err;
  EXPECT_NE(r.out.find("problem:"), std::string::npos) << r.out;
  r = Check(mount_.cache(), /*repair=*/true);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reset the cache"), std::string::npos) << r.out;
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(ReadFile(mount_.ViewPath("f")), Pattern(2 * kMiB, 9));
}

TEST_F(CheckCommandTest, MountDropsBlocksALostSlotFileHeld) {
  // Without check: the mount itself must not serve what the slot file lost.
  ASSERT_EQ(::unlink(Slots().c_str()), 0);
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(StatusCounter(mount_.view(), "used_blocks"), 0u);
  EXPECT_EQ(ReadFile(mount_.ViewPath("f")), Pattern(2 * kMiB, 9));
  EXPECT_NE(mount_.DaemonLog().find("slots' was missing"), std::string::npos)
      << mount_.DaemonLog();
  ASSERT_TRUE(mount_.Unmount());
  ASSERT_EQ(::truncate(Slots().c_str(), 1 << 20), 0);
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_LE(StatusCounter(mount_.view(), "used_blocks"), 16u);
  EXPECT_EQ(ReadFile(mount_.ViewPath("f")), Pattern(2 * kMiB, 9));
}

TEST(DaemonLog, InfoLevelReportsServingAndACleanStopWarningLevelIsQuiet) {
  for (const char* level : {"info", "warning"}) {
    TempDir dir;
    const std::string view = dir.Sub("view");
    ChildProcess daemon({WtcachefsBinary(), dir.Sub("origin"), dir.Sub("cache"), view, "-f",
                         "--cache-size", "16M", "--log-level", level});
    ASSERT_TRUE(WaitForMountState(view, true)) << daemon.Wait(std::chrono::seconds(1)).err;
    RunCommand({"fusermount3", "-u", view});
    const CommandResult r = daemon.Wait(std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (std::string(level) == "info") {
      EXPECT_NE(r.err.find("serving " + view), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("flushed and marked clean"), std::string::npos) << r.err;
    } else {
      EXPECT_EQ(r.err, "") << "the default level reports problems only";
    }
  }
}

TEST(ServiceReadiness, ReadyIsSentToTheNotifySocketOnceMounted) {
  TempDir dir;
  const std::string socket_path = dir.Sub("notify", false);
  const int receiver = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(receiver, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
  MountedView mount;
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(mount.ok()) << mount.failure();
  timeval timeout{10, 0};
  ::setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char message[256] = {};
  const ssize_t n = ::recv(receiver, message, sizeof(message) - 1, 0);
  ::close(receiver);
  ASSERT_GT(n, 0) << "nothing was sent to NOTIFY_SOCKET";
  EXPECT_NE(std::string(message).find("READY=1"), std::string::npos) << message;
  EXPECT_TRUE(IsWtcachefsMount(mount.view())) << "ready before the view was mounted";
}

}  // namespace
}  // namespace wtcachefs::testing
