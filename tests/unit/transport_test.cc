// SPDX-License-Identifier: Apache-2.0
// Choosing how FUSE requests travel (auto, io_uring, dev_fuse) from what the
// host offers, the transport option, and the pieces that let requests over
// io_uring be served off the ring threads: the request pool, the change gate
// whose holds end on another thread, and range locks taken without waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/mount_options.h"
#include "engine/block_range_lock.h"
#include "engine/change_gate.h"
#include "fuse/fuse_features.h"
#include "fuse/fuse_session_runner.h"
#include "fuse/request_pool.h"
#include "support/temp_dir.h"
#include "wtcachefs/transport.h"

namespace wtcachefs {
namespace {

using testing::TempDir;

bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- what the host offers -------------------------------------------------------

class UringAvailabilityTest : public ::testing::Test {
 protected:
  // A stand-in for the host's switch holding `value`.
  std::string Switch(const std::string& value) {
    const std::string path = dir_.Sub("enable_uring", false);
    std::ofstream(path) << value << "\n";
    return path;
  }
  TempDir dir_;
};

TEST_F(UringAvailabilityTest, AKernelWithoutTheSwitchHasNoIoUringAndTheReasonSaysWhatItNeeds) {
  const TransportAvailability a = UringAvailability(dir_.Sub("missing", false));
  EXPECT_FALSE(a.io_uring);
  if (kLibfuseHasUring) {
    EXPECT_TRUE(Mentions(a.reason, "6.14")) << a.reason;
    EXPECT_TRUE(Mentions(a.reason, "CONFIG_FUSE_IO_URING")) << a.reason;
  }
}

TEST_F(UringAvailabilityTest, ASwitchThatIsOffNamesItselfAndWhereToTurnItOn) {
  const std::string path = Switch("N");
  const TransportAvailability a = UringAvailability(path);
  EXPECT_FALSE(a.io_uring);
  if (kLibfuseHasUring) {
    EXPECT_TRUE(Mentions(a.reason, path)) << a.reason;
    EXPECT_TRUE(Mentions(a.reason, "wtcachefs(8)")) << a.reason;
  }
}

TEST_F(UringAvailabilityTest, ASwitchThatIsOnOffersIoUringWhereLibfuseHasIt) {
  for (const char* on : {"Y", "1"}) {
    const TransportAvailability a = UringAvailability(Switch(on));
    EXPECT_EQ(a.io_uring, kLibfuseHasUring) << on;
    EXPECT_EQ(a.reason.empty(), kLibfuseHasUring) << a.reason;
    if (!kLibfuseHasUring) {
      EXPECT_TRUE(Mentions(a.reason, "install-libfuse.sh")) << a.reason;
    }
  }
}

// ---- the choice -----------------------------------------------------------------

const TransportAvailability kOffered{true, {}};
const TransportAvailability kOff{false, "FUSE over io_uring is off on this host (switch)"};

TEST(ResolveTransport, AutoTakesIoUringWhenOfferedAndSaysNothing) {
  auto resolved = ResolveTransport(TransportChoice::kAuto, kOffered);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value().transport, Transport::kIoUring);
  EXPECT_TRUE(resolved.value().note.empty());
}

TEST(ResolveTransport, AutoFallsBackToDevFuseWithTheReasonInItsNote) {
  auto resolved = ResolveTransport(TransportChoice::kAuto, kOff);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value().transport, Transport::kDevFuse);
  EXPECT_TRUE(Mentions(resolved.value().note, "/dev/fuse")) << resolved.value().note;
  EXPECT_TRUE(Mentions(resolved.value().note, kOff.reason)) << resolved.value().note;
}

TEST(ResolveTransport, DevFuseIsTakenEvenWhenIoUringIsOffered) {
  auto resolved = ResolveTransport(TransportChoice::kDevFuse, kOffered);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value().transport, Transport::kDevFuse);
  EXPECT_TRUE(resolved.value().note.empty());
}

TEST(ResolveTransport, IoUringAskedForButNotOfferedIsAnErrorThatNamesTheOptionAndTheWayOut) {
  auto resolved = ResolveTransport(TransportChoice::kIoUring, kOff);
  ASSERT_FALSE(resolved.ok());
  const std::string message = resolved.status().message();
  EXPECT_TRUE(Mentions(message, "transport=io_uring")) << message;
  EXPECT_TRUE(Mentions(message, kOff.reason)) << message;
  EXPECT_TRUE(Mentions(message, "transport=auto")) << message;
  auto offered = ResolveTransport(TransportChoice::kIoUring, kOffered);
  ASSERT_TRUE(offered.ok());
  EXPECT_EQ(offered.value().transport, Transport::kIoUring);
}

TEST(TransportOption, EachValueIsParsedAndAnythingElseIsRefusedByName) {
  Options options;
  EXPECT_EQ(options.transport, TransportChoice::kAuto);
  ASSERT_TRUE(ApplyMountOptions("transport=io_uring", options).ok());
  EXPECT_EQ(options.transport, TransportChoice::kIoUring);
  ASSERT_TRUE(ApplyMountOptions("transport=dev_fuse", options).ok());
  EXPECT_EQ(options.transport, TransportChoice::kDevFuse);
  ASSERT_TRUE(ApplyMountOptions("transport=auto", options).ok());
  EXPECT_EQ(options.transport, TransportChoice::kAuto);
  const Status bad = ApplyMountOptions("transport=uring", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Mentions(bad.message(), "transport=uring")) << bad.message();
  EXPECT_TRUE(Mentions(bad.message(), "auto, io_uring or dev_fuse")) << bad.message();
  EXPECT_TRUE(options.kernel_options.empty()) << "a wtcachefs option must not reach the kernel";
}

// ---- serving off the ring threads ----------------------------------------------------

TEST(RequestPool, RunsEveryTaskOnItsOwnThreadsAndAfterStopOnTheCaller) {
  std::atomic<int> ran{0};
  std::atomic<int> on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  RequestPool pool(3);
  for (int i = 0; i < 1000; ++i) {
    pool.Post([&] {
      if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
      ran.fetch_add(1);
    });
  }
  pool.Stop();  // runs what is queued first
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_EQ(on_caller.load(), 0);
  pool.Post([&] {
    if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
    ran.fetch_add(1);
  });
  EXPECT_EQ(ran.load(), 1001) << "a request after Stop() still gets served";
  EXPECT_EQ(on_caller.load(), 1);
}

TEST(RequestPool, StartsThreadsOnlyAsTasksFindNoneIdleAndNeverMoreThanItsBound) {
  RequestPool pool(4);
  EXPECT_EQ(pool.threads(), 0u) << "no request yet, no thread";
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    pool.Post([&] { ran.fetch_add(1); });
    // One at a time: the thread that served the last one is idle again.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ran.load() <= i && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  EXPECT_EQ(ran.load(), 50);
  EXPECT_LE(pool.threads(), 2u) << "requests one after another need one thread";
  // Requests that all wait at once take every thread the bound allows.
  std::mutex gate;
  std::unique_lock held(gate);
  std::atomic<int> waiting{0};
  for (int i = 0; i < 10; ++i) {
    pool.Post([&] {
      waiting.fetch_add(1);
      std::lock_guard wait(gate);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (waiting.load() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pool.threads(), 4u);
  held.unlock();
  pool.Stop();
  EXPECT_EQ(waiting.load(), 10);
}

TEST(RequestPool, ATaskThatWaitsDoesNotHoldUpTheOthers) {
  RequestPool pool(2);
  std::mutex gate;
  std::unique_lock held(gate);
  std::atomic<bool> second_ran{false};
  pool.Post([&] { std::lock_guard wait(gate); });
  pool.Post([&] { second_ran = true; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!second_ran && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(second_ran);
  held.unlock();
  pool.Stop();
}

TEST(ChangeGate, SharedHoldsEndedOnAnotherThreadLetAChangeThatExcludesThemIn) {
  ChangeGate gate;
  std::shared_lock write(gate);
  ASSERT_TRUE(write.owns_lock());
  std::atomic<bool> excluded_ran{false};
  std::thread truncate([&] {
    std::lock_guard exclusive(gate);
    excluded_ran = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(excluded_ran) << "an exclusive hold ran beside a shared one";
  // The write completes on another thread, which ends its hold.
  std::thread completion([&] { write.unlock(); });
  completion.join();
  truncate.join();
  EXPECT_TRUE(excluded_ran);
}

TEST(ChangeGate, TryLockSharedFailsOnlyWhileAChangeHoldsTheGateExclusively) {
  ChangeGate gate;
  ASSERT_TRUE(gate.try_lock_shared());
  ASSERT_TRUE(gate.try_lock_shared()) << "shared holds coexist";
  gate.unlock_shared();
  gate.unlock_shared();
  gate.lock();
  EXPECT_FALSE(gate.try_lock_shared());
  gate.unlock();
  EXPECT_TRUE(gate.try_lock_shared());
  gate.unlock_shared();
}

TEST(BlockRangeLock, TryingForHeldBlocksTakesNothingAndFreeBlocksAreTaken) {
  BlockRangeLock lock;
  BlockRangeLock::Held first(lock, 4, 8);
  {
    BlockRangeLock::Held overlapping(lock, 7, 9, std::try_to_lock);
    EXPECT_FALSE(overlapping.held());
    BlockRangeLock::Held beside(lock, 8, 12, std::try_to_lock);
    EXPECT_TRUE(beside.held());
  }
  // The failed try left nothing behind: blocks 8 to 12 are free again.
  BlockRangeLock::Held again(lock, 7, 9, std::try_to_lock);
  EXPECT_FALSE(again.held()) << "block 7 is still the first hold's";
  BlockRangeLock::Held after(lock, 8, 9, std::try_to_lock);
  EXPECT_TRUE(after.held());
}

}  // namespace
}  // namespace wtcachefs
