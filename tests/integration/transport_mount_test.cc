// SPDX-License-Identifier: Apache-2.0
// Mounts over each transport: auto takes FUSE over io_uring when the host's
// switch is on and /dev/fuse (saying why) when it is off; a forced io_uring
// that cannot be had refuses the mount; status shows the transport in every
// format; data through the ring (hits answered by the ring threads, writes
// acknowledged from their completions, misses served by the request pool)
// equals the origin; and a view stopped while writes are in flight loses
// nothing. Each test sets the switch and restores it (RUN_SERIAL: no other
// test mounts meanwhile).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli/prometheus_format.h"
#include "support/child_process.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"
#include "support/uring_switch.h"

namespace wtcachefs::testing {
namespace {

bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::map<std::string, std::string> StatusFields(const std::string& view) {
  char line[8192];
  const ssize_t n = ::getxattr(view.c_str(), "wtcachefs.status.line", line, sizeof(line));
  if (n < 0) return {};
  return ParseStatusLine(std::string(line, static_cast<size_t>(n)));
}

uint64_t Field(const std::string& view, const std::string& name) {
  const auto fields = StatusFields(view);
  const auto it = fields.find(name);
  return it == fields.end() ? 0 : std::stoull(it->second);
}

// fio with crc32c verification of every block it wrote; "" when it passed,
// else what it printed.
std::string RunFioVerified(const std::string& file, const std::string& size,
                           const std::vector<std::string>& workload) {
  std::vector<std::string> argv = {"fio", "--name=verified", "--filename=" + file,
                                   "--size=" + size, "--bs=4k", "--verify=crc32c",
                                   "--do_verify=1", "--verify_fatal=1"};
  argv.insert(argv.end(), workload.begin(), workload.end());
  const CommandResult result = RunCommand(argv, std::chrono::seconds(120));
  return result.exit_code == 0 ? "" : result.out + result.err;
}

class TransportMountTest : public ::testing::Test {
 protected:
  // Sets the host's switch for this test; restored when the test ends.
  void Switch(bool on) {
    uring_switch_.emplace(on);
    if (!uring_switch_->ok()) GTEST_SKIP() << uring_switch_->reason();
  }

  std::optional<UringSwitch> uring_switch_;
};

TEST_F(TransportMountTest, AutoServesOverIoUringWhenTheHostOffersItAndStatusSaysSoEverywhere) {
  Switch(true);
  if (IsSkipped()) return;
  // Named, so that the suite's check of its run's transport leaves it be.
  MountedView mount({"-o", "transport=auto", "--log-level", "info"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  EXPECT_EQ(StatusFields(mount.view())["transport"], "io_uring");
  const CommandResult table = RunCommand({WtcachefsBinary(), "status", mount.view()});
  EXPECT_TRUE(Mentions(table.out, "transport       io_uring\n")) << table.out;
  const CommandResult json = RunCommand({WtcachefsBinary(), "status", mount.view(), "--json"});
  EXPECT_TRUE(Mentions(json.out, "\"transport\":\"io_uring\"")) << json.out;
  const CommandResult prometheus =
      RunCommand({WtcachefsBinary(), "status", mount.view(), "--prometheus"});
  EXPECT_TRUE(Mentions(prometheus.out, "transport=\"io_uring\"} 1\n")) << prometheus.out;
  EXPECT_TRUE(Mentions(mount.DaemonLog(), "over io_uring)")) << mount.DaemonLog();
}

TEST_F(TransportMountTest, DevFuseAskedForIsServedOverDevFuseWhileIoUringIsOffered) {
  Switch(true);
  if (IsSkipped()) return;
  MountedView mount({"--transport", "dev_fuse"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  EXPECT_EQ(StatusFields(mount.view())["transport"], "dev_fuse");
  const CommandResult table = RunCommand({WtcachefsBinary(), "status", mount.view()});
  EXPECT_TRUE(Mentions(table.out, "transport       dev_fuse (io_uring is available"))
      << table.out;
}

TEST_F(TransportMountTest, AutoWithTheSwitchOffServesOverDevFuseAndSaysWhyOnce) {
  Switch(false);
  if (IsSkipped()) return;
  MountedView mount({"-o", "transport=auto", "--log-level", "info"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  EXPECT_EQ(StatusFields(mount.view())["transport"], "dev_fuse");
  const std::string log = mount.DaemonLog();
  EXPECT_TRUE(Mentions(log, "serving over /dev/fuse: FUSE over io_uring is off")) << log;
  EXPECT_TRUE(Mentions(log, "enable_uring")) << log;
  const size_t first = log.find("serving over /dev/fuse");
  EXPECT_EQ(log.find("serving over /dev/fuse", first + 1), std::string::npos) << log;
  const CommandResult table = RunCommand({WtcachefsBinary(), "status", mount.view()});
  EXPECT_TRUE(Mentions(table.out, "wtcachefs(8), TRANSPORT")) << table.out;
}

TEST_F(TransportMountTest, IoUringAskedForWithTheSwitchOffRefusesTheMountWithExitCode1) {
  Switch(false);
  if (IsSkipped()) return;
  TempDir dir;
  const CommandResult result =
      RunCommand({WtcachefsBinary(), dir.Sub("origin"), dir.Sub("cache"), dir.Sub("view"),
                  "--cache-size", "16M", "-f", "--transport", "io_uring"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(Mentions(result.err, "transport=io_uring cannot be honoured")) << result.err;
  EXPECT_TRUE(Mentions(result.err, "enable_uring")) << result.err;
  EXPECT_TRUE(Mentions(result.err, "-o transport=auto")) << result.err;
  EXPECT_FALSE(IsWtcachefsMount(dir.Sub("view")));
}

TEST_F(TransportMountTest, DataThroughTheRingEqualsTheOriginAndTakesEveryPath) {
  Switch(true);
  if (IsSkipped()) return;
  MountedView mount({"--transport", "io_uring"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  // Written at queue depth 16 with O_DIRECT (writes acknowledged from their
  // completions), read back and verified twice: once missing (the pool), once
  // hitting (the ring threads).
  const std::string file = mount.ViewPath("disk.img");
  const std::vector<std::string> deep = {"--rw=randwrite", "--ioengine=libaio", "--iodepth=16",
                                         "--direct=1"};
  EXPECT_EQ(RunFioVerified(file, "16M", deep), "");
  ASSERT_EQ(RunCommand({WtcachefsBinary(), "invalidate", mount.view()}).exit_code, 0);
  std::vector<std::string> read_back = deep;
  read_back.push_back("--verify_only");
  EXPECT_EQ(RunFioVerified(file, "16M", read_back), "");
  const uint64_t hits_before = Field(mount.view(), "read_hits");
  EXPECT_EQ(RunFioVerified(file, "16M", read_back), "");
  EXPECT_GT(Field(mount.view(), "read_hits"), hits_before) << "the second pass hit nothing";
  EXPECT_GT(Field(mount.view(), "write_hits") + Field(mount.view(), "write_misses"), 0u);
  EXPECT_EQ(ReadFile(file), ReadFile(mount.OriginPath("disk.img")));
  EXPECT_EQ(Field(mount.view(), "corrupt_blocks"), 0u);
}

TEST_F(TransportMountTest, AViewStoppedWhileWritesAreInFlightLosesNothingAndShutsDownClean) {
  Switch(true);
  if (IsSkipped()) return;
  MountedView mount({"--transport", "io_uring", "--log-level", "info"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string file = mount.ViewPath("busy.img");
  ChildProcess writer({"fio", "--name=busy", "--filename=" + file, "--size=32M", "--bs=4k",
                       "--rw=randwrite", "--ioengine=libaio", "--iodepth=32", "--direct=1",
                       "--time_based", "--runtime=30"});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(mount.daemon_pid(), SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!Mentions(mount.DaemonLog(), "stopped serving") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string log = mount.DaemonLog();
  EXPECT_TRUE(Mentions(log, "the cache is flushed and marked clean")) << log;
  EXPECT_TRUE(mount.Unmount()) << "the daemon did not exit 0: " << log;
  writer.Wait(std::chrono::seconds(30));
  // What the cache holds equals what origin holds, block for block.
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  EXPECT_EQ(ReadFileDirect(file), ReadFile(mount.OriginPath("busy.img")));
}

}  // namespace
}  // namespace wtcachefs::testing
