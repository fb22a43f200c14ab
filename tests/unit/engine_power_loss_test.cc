// SPDX-License-Identifier: Apache-2.0
// DESIGN W4 under power loss: a child process runs the engine over a backend
// that loses every unsynced write when the process dies, and dies after a
// random number of operations. After a restart, every byte read through the
// engine equals origin's, and the data of every completed fsync is there.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "support/power_loss_backend.h"
#include "support/engine_test_config.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::PowerLossBackend;
using testing::kRootCaller;
using testing::ReadFile;
using testing::TempDir;

constexpr uint32_t kBlock = 16 * 1024;
// Writes stay in the first intent region; reads cover three, so promotions also
// land in regions the intent log does not name.
constexpr uint64_t kRegion = 256 * kBlock;
constexpr uint64_t kWriteSpan = 40 * kBlock;
constexpr uint64_t kSpan = 3 * kRegion;

class EnginePowerLossTest : public ::testing::Test {
 protected:
  CacheConfig Config() {
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 256);
    config.flush_interval_ms = 5;  // mappings are committed often: the dangerous case
    return config;
  }
  std::string Origin() { return dir_.Sub("origin") + "/disk"; }

  TempDir dir_;
};

// The child: random writes, reads and fsyncs; dies after `ops` operations. After
// each fsync it records the synced content it expects in "<origin>.synced".
[[noreturn]] void RunUntilPowerLoss(const CacheConfig& config, const std::string& path,
                                    unsigned seed, int ops) {
  auto real = MakeUringBackend();
  if (!real.ok()) ::_exit(2);
  PowerLossBackend volatile_cache(*real.value());
  auto engine = CacheEngine::Start(config, volatile_cache);
  if (!engine.ok()) ::_exit(3);
  auto file = engine.value()->Open(UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC)));
  if (!file.ok()) ::_exit(4);
  std::mt19937 rng(seed);
  std::string expected = ReadFile(path);  // what reads through the engine must return
  for (int op = 0; op < ops; ++op) {
    const uint64_t offset = rng() % kSpan;
    const uint64_t write_offset = rng() % kWriteSpan;
    const size_t length = 1 + rng() % (2 * kBlock);
    switch (rng() % 6) {
      case 5:
        // Let the group commit persist mappings while origin writes are still
        // volatile: the case the intent log exists for.
        std::this_thread::sleep_for(std::chrono::milliseconds(8));
        break;
      case 0:
      case 1: {
        std::string data(length, static_cast<char>('a' + rng() % 26));
        if (!file.value()->Write(static_cast<off_t>(write_offset), data, kRootCaller).ok()) ::_exit(5);
        expected.replace(write_offset, length, data);
        break;
      }
      case 2: {
        if (!file.value()->Sync(rng() % 2 == 0).ok()) ::_exit(6);
        testing::WriteFile(path + ".synced", expected);
        break;
      }
      default: {
        std::string out(length, '\0');
        auto n = file.value()->Read(static_cast<off_t>(offset), out);
        if (!n.ok()) ::_exit(7);
        out.resize(n.value());
        if (out != expected.substr(std::min<size_t>(offset, expected.size()), length)) ::_exit(8);
      }
    }
  }
  ::kill(::getpid(), SIGKILL);  // the power goes out: buffered writes vanish
  ::_exit(9);
}

TEST_F(EnginePowerLossTest, AfterPowerLossAtRandomPointsReadsEqualOriginAndFsyncedDataSurvives) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  testing::WriteFile(Origin(), std::string(kSpan, '.'));
  testing::WriteFile(Origin() + ".synced", std::string(kSpan, '.'));
  constexpr int kCrashes = 30;
  for (int crash = 0; crash < kCrashes; ++crash) {
    SCOPED_TRACE("crash point " + std::to_string(crash));
    const unsigned child_seed = static_cast<unsigned>(rng());
    const int ops = 1 + static_cast<int>(rng() % 120);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) RunUntilPowerLoss(Config(), Origin(), child_seed, ops);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed with exit code " << WEXITSTATUS(status);

    const std::string origin = ReadFile(Origin());
    const std::string synced = ReadFile(Origin() + ".synced");
    ASSERT_EQ(origin.substr(0, synced.size()), synced) << "an fsync'ed write was lost";

    auto real = MakeUringBackend();
    ASSERT_TRUE(real.ok());
    auto engine = CacheEngine::Start(Config(), *real.value());
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    auto file = engine.value()->Open(UniqueFd(::open(Origin().c_str(), O_RDWR | O_CLOEXEC)));
    ASSERT_TRUE(file.ok());
    for (int pass = 0; pass < 2; ++pass) {
      std::string out(origin.size() + 1, '\0');
      auto n = file.value()->Read(0, out);
      ASSERT_TRUE(n.ok());
      out.resize(n.value());
      ASSERT_EQ(out, origin) << "pass " << pass << ": the cache served bytes origin does not have";
    }
    // Nothing damaged the cache: a checksum mismatch after recovery would mean a
    // durable mapping named data or checksums that were not durable (W4).
    ASSERT_EQ(engine.value()->stats().corrupt_blocks, 0u)
        << "a recovered mapping's data and checksums disagree";
    // The next round starts from what origin now holds; every other round on a
    // cold cache, so that the child promotes (the verification above warmed it).
    testing::WriteFile(Origin() + ".synced", origin);
    if (crash % 2 == 0) {
      file.value().reset();
      engine.value().reset();
      CacheConfig cold = Config();
      cold.reset = true;
      ASSERT_TRUE(CacheEngine::Start(cold, *real.value()).ok());
    }
  }
}

}  // namespace
}  // namespace wtcachefs
