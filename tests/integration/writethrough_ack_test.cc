// SPDX-License-Identifier: Apache-2.0
// DESIGN W1 through a real mount: a write(2) to VIEW submits the origin write and
// the cache write in one batch, and returns only after both completions reached
// the daemon. The daemon's IO backend withholds the batch's completion (the IO
// is done, the engine is not told) until the test releases it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 10000; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(WritethroughAck, WriteReturnsOnlyAfterOriginAndCacheCompletionsArrive) {
  TempDir control;
  ::setenv("WTCACHEFS_TEST_CONTROL_DIR", control.path().c_str(), 1);
  MountedView mount({}, HeldIoBinary());
  ::unsetenv("WTCACHEFS_TEST_CONTROL_DIR");
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.ViewPath("f"), "");

  const std::string data(64 * 1024, 'w');
  WriteFile(control.path() + "/hold", "");
  std::atomic<bool> returned{false};
  std::thread writer([&] {
    const int fd = ::open(mount.ViewPath("f").c_str(), O_WRONLY);
    EXPECT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ::close(fd);
    returned = true;
  });
  const bool held = WaitForFile(control.path() + "/held");
  if (held) {
    // Both writes went out in the one held submission...
    const std::string batch = ReadFile(control.path() + "/batch");
    EXPECT_NE(batch.find("origin-write"), std::string::npos) << batch;
    EXPECT_NE(batch.find("cache-write"), std::string::npos) << batch;
    // ...the origin already has the bytes, yet the caller has no reply.
    EXPECT_EQ(ReadFile(mount.OriginPath("f")), data);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(returned) << "write(2) returned before the completions were delivered";
  }
  WriteFile(control.path() + "/release", "");
  writer.join();
  ASSERT_TRUE(held) << "no write batch reached the daemon's backend";
  EXPECT_TRUE(returned);
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), data);
}

// The diagnostic serial_writethrough (kept for benchmarks) does what parallel
// submission replaced: the origin write goes out alone, the cache write after it.
TEST(WritethroughAck, SerialWritethroughSubmitsOriginAloneAndTheCacheAfterIt) {
  TempDir control;
  ::setenv("WTCACHEFS_TEST_CONTROL_DIR", control.path().c_str(), 1);
  MountedView mount({"-o", "serial_writethrough"}, HeldIoBinary());
  ::unsetenv("WTCACHEFS_TEST_CONTROL_DIR");
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.ViewPath("f"), "");

  const std::string data(64 * 1024, 's');
  WriteFile(control.path() + "/hold", "");
  std::thread writer([&] {
    const int fd = ::open(mount.ViewPath("f").c_str(), O_WRONLY);
    EXPECT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ::close(fd);
  });
  const bool held = WaitForFile(control.path() + "/held");
  if (held) {
    const std::string batch = ReadFile(control.path() + "/batch");
    EXPECT_NE(batch.find("origin-write"), std::string::npos) << batch;
    EXPECT_EQ(batch.find("cache-write"), std::string::npos) << batch;
  }
  WriteFile(control.path() + "/release", "");
  writer.join();
  ASSERT_TRUE(held) << "no write batch reached the daemon's backend";
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), data);
  // The cache write followed: the block is cached and reads of it are hits.
  const CommandResult status = RunCommand({WtcachefsBinary(), "status", mount.view(), "--line"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find(" used_blocks=1 "), std::string::npos) << status.out;
}

}  // namespace
}  // namespace wtcachefs::testing
