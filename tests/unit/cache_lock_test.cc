// SPDX-License-Identifier: Apache-2.0
// The lock of a cache directory: a holder whose view is still mounted (or that
// serves none) is refused at once; a holder whose view is gone is waited for,
// once announced, up to the limit; the lock file names the new holder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "cache_dir/cache_lock.h"
#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using std::chrono::milliseconds;
using testing::TempDir;

class CacheLockTest : public ::testing::Test {
 protected:
  // Takes the lock as another holder would (its own open file description) and
  // names `view` as the one it serves.
  UniqueFd HoldAs(const std::string& view) {
    UniqueFd fd(::open((dir_.path() + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::flock(fd.get(), LOCK_EX | LOCK_NB), 0);
    const std::string text = std::to_string(::getpid()) + "\n" + view + "\n";
    EXPECT_EQ(::ftruncate(fd.get(), 0), 0);
    EXPECT_EQ(::pwrite(fd.get(), text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    return fd;
  }
  CacheLockRequest Request(milliseconds wait) {
    CacheLockRequest request;
    request.view = "/new/view";
    request.wait_for_leaving_holder = wait;
    request.on_wait = [this](const std::string& message) { notices_.push_back(message); };
    return request;
  }

  TempDir dir_;
  std::vector<std::string> notices_;
};

TEST_F(CacheLockTest, LockFileNamesTheHolderAndItsView) {
  auto lock = LockCacheDirectory(dir_.path(), Request(milliseconds(0)));
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  const auto holder = ReadCacheLockHolder(dir_.path());
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_EQ(holder->view, "/new/view");
}

TEST_F(CacheLockTest, LockFileSaysWhetherTheHolderIsStartingServingOrLeaving) {
  auto lock = LockCacheDirectory(dir_.path(), Request(milliseconds(0)));
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_EQ(ReadCacheLockHolder(dir_.path())->state, HolderState::kStarting);
  for (HolderState state : {HolderState::kServing, HolderState::kLeaving}) {
    RecordHolderState(lock.value().get(), "/new/view\nwith a newline", state);
    const auto holder = ReadCacheLockHolder(dir_.path());
    ASSERT_TRUE(holder);
    EXPECT_EQ(holder->pid, ::getpid());
    EXPECT_EQ(holder->state, state);
    EXPECT_EQ(holder->view, "/new/view\nwith a newline");
  }
}

// A holder that has not mounted its view yet is not leaving: refused at once,
// not waited for as if its view had been unmounted.
TEST_F(CacheLockTest, HolderThatIsStartingIsRefusedAtOnce) {
  UniqueFd holder = HoldAs(dir_.Sub("not-mounted-yet"));
  RecordHolderState(holder.get(), dir_.Sub("not-mounted-yet", false), HolderState::kStarting);
  const auto started = std::chrono::steady_clock::now();
  auto lock = LockCacheDirectory(dir_.path(), Request(std::chrono::seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5)) << "it waited";
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().error(), EBUSY);
  EXPECT_NE(lock.status().message().find("starting"), std::string::npos)
      << lock.status().message();
  EXPECT_TRUE(notices_.empty());
}

TEST_F(CacheLockTest, HolderWhoseViewIsStillMountedIsRefusedAtOnce) {
  UniqueFd holder = HoldAs("/");  // "/" is always a mount point
  const auto started = std::chrono::steady_clock::now();
  auto lock = LockCacheDirectory(dir_.path(), Request(std::chrono::seconds(30)));
  ASSERT_FALSE(lock.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(lock.status().error(), EBUSY);
  EXPECT_NE(lock.status().message().find("in use by another wtcachefs mount (pid " +
                                         std::to_string(::getpid()) + ", view '/')"),
            std::string::npos)
      << lock.status().message();
  EXPECT_TRUE(notices_.empty());
}

TEST_F(CacheLockTest, HolderServingNoViewIsRefusedAtOnce) {
  UniqueFd holder = HoldAs("");  // `wtcachefs check`
  auto lock = LockCacheDirectory(dir_.path(), Request(std::chrono::seconds(30)));
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().error(), EBUSY);
  EXPECT_NE(lock.status().message().find("in use"), std::string::npos);
  EXPECT_TRUE(notices_.empty());
}

TEST_F(CacheLockTest, HolderWhoseViewIsGoneIsWaitedForUntilItLetsGo) {
  UniqueFd holder = HoldAs(dir_.Sub("unmounted-view"));
  std::thread leaving([&] {
    std::this_thread::sleep_for(milliseconds(300));
    holder.reset();
  });
  CacheLockRequest request = Request(std::chrono::seconds(30));
  request.announce_after = milliseconds(100);
  auto lock = LockCacheDirectory(dir_.path(), request);
  leaving.join();
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  ASSERT_EQ(notices_.size(), 1u) << "announced once";
  EXPECT_NE(notices_[0].find("waiting for the previous wtcachefs (pid " +
                             std::to_string(::getpid()) + ") to release cache '" +
                             dir_.path() + "'"),
            std::string::npos)
      << notices_[0];
  EXPECT_EQ(ReadCacheLockHolder(dir_.path())->view, "/new/view");
}

// A daemon shuts down in tens of milliseconds: a mount right after its
// unmount waits for it without a word.
TEST_F(CacheLockTest, AHolderThatLeavesPromptlyIsWaitedForWithoutAWord) {
  UniqueFd holder = HoldAs(dir_.Sub("unmounted-view"));
  std::thread leaving([&] {
    std::this_thread::sleep_for(milliseconds(100));
    holder.reset();
  });
  auto lock = LockCacheDirectory(dir_.path(), Request(std::chrono::seconds(30)));
  leaving.join();
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_TRUE(notices_.empty()) << notices_[0];
}

TEST_F(CacheLockTest, WaitForAHolderWhoseViewIsGoneIsBounded) {
  UniqueFd holder = HoldAs(dir_.Sub("unmounted-view"));
  const auto started = std::chrono::steady_clock::now();
  auto lock = LockCacheDirectory(dir_.path(), Request(milliseconds(300)));
  ASSERT_FALSE(lock.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(300));
  EXPECT_EQ(lock.status().error(), EBUSY);
  EXPECT_NE(lock.status().message().find("is still held by the wtcachefs that served '" +
                                         dir_.Sub("unmounted-view", false) + "'"),
            std::string::npos)
      << lock.status().message();
  EXPECT_NE(lock.status().message().find("wait until that process has exited"),
            std::string::npos);
}

TEST_F(CacheLockTest, HolderOfTheOldFormatWithoutAViewIsRefusedAtOnce) {
  UniqueFd fd(::open((dir_.path() + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_EQ(::flock(fd.get(), LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::pwrite(fd.get(), "4242\n", 5, 0), 5);
  auto lock = LockCacheDirectory(dir_.path(), Request(std::chrono::seconds(30)));
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find("(pid 4242)"), std::string::npos)
      << lock.status().message();
}

}  // namespace
}  // namespace wtcachefs
