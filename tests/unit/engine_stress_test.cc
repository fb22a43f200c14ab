// SPDX-License-Identifier: Apache-2.0
// Eight threads on the same files: overlapping reads, writes, truncates and
// fsyncs. Each thread checks its own stripes exactly while the others race
// promotions and invalidations around them; afterwards every byte read through
// the engine equals origin. Meant to run under ASan and TSan too.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "support/engine_test_config.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::kRootCaller;
using testing::ReadFile;
using testing::TempDir;

constexpr uint32_t kBlock = 16 * 1024;
constexpr int kThreads = 8;
constexpr int kFiles = 3;
constexpr size_t kStripe = 3 * kBlock + 1000;  // stripes straddle block boundaries
constexpr size_t kFileSize = kStripe * kThreads;

class EngineStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = MakeUringBackend();
    if (!io.ok()) GTEST_SKIP() << io.status().message();
    io_ = std::move(io).value();
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 24);  // less than the data
    config.flush_interval_ms = 20;
    auto engine = CacheEngine::Start(config, *io_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
  }

  std::string Origin(int file) { return dir_.Sub("origin") + "/f" + std::to_string(file); }

  std::unique_ptr<OpenFile> Open(int file) {
    UniqueFd fd(::open(Origin(file).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    auto opened = engine_->Open(std::move(fd));
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> io_;
  std::unique_ptr<CacheEngine> engine_;
};

TEST_F(EngineStressTest, EightThreadsOnSharedFilesNeverSeeOrLeaveStaleBytes) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int f = 0; f < kFiles; ++f) testing::WriteFile(Origin(f), std::string(kFileSize, '.'));

  // Phase 1: stripes. Thread t owns bytes [t*kStripe, (t+1)*kStripe) of every
  // file and checks each read of them exactly; it also reads anywhere.
  std::atomic<int> failures{0};
  std::mutex first_failure_mutex;
  std::string first_failure;
  const auto fail = [&](const std::string& what) {
    ++failures;
    std::lock_guard lock(first_failure_mutex);
    if (first_failure.empty()) first_failure = what;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + static_cast<unsigned>(t));
      std::vector<std::unique_ptr<OpenFile>> files;
      std::vector<std::string> model(kFiles, std::string(kStripe, '.'));
      for (int f = 0; f < kFiles; ++f) files.push_back(Open(f));
      const off_t base = static_cast<off_t>(t * kStripe);
      for (int step = 0; step < 400; ++step) {
        const int f = static_cast<int>(rng() % kFiles);
        const size_t offset = rng() % kStripe;
        const size_t length = 1 + rng() % (kStripe - offset);
        switch (rng() % 5) {
          case 0:
          case 1: {
            std::string data(length, static_cast<char>('A' + rng() % 26));
            auto n = files[f]->Write(base + static_cast<off_t>(offset),
                                     std::span<const char>(data.data(), data.size()), kRootCaller);
            if (!n.ok() || n.value() != length) {
              fail("write: " + (n.ok() ? "short" : n.status().message()));
            }
            model[f].replace(offset, length, data);
            break;
          }
          case 2: {
            std::string out(length, '\0');
            auto n = files[f]->Read(base + static_cast<off_t>(offset), out);
            if (!n.ok()) {
              fail("read: " + n.status().message());
            } else if (out != model[f].substr(offset, length)) {
              size_t at = 0;
              while (at < length && out[at] == model[f][offset + at]) ++at;
              fail("thread " + std::to_string(t) + " file " + std::to_string(f) +
                   " read stale bytes at stripe offset " + std::to_string(offset + at) +
                   " (read " + std::to_string(offset) + "+" + std::to_string(length) +
                   "): got '" + out[at] + "', wrote '" + model[f][offset + at] + "'");
            }
            break;
          }
          case 3: {
            std::string out(kBlock * 2, '\0');
            (void)files[f]->Read(static_cast<off_t>(rng() % kFileSize), out);
            break;
          }
          default:
            if (Status synced = files[f]->Sync(rng() % 2 == 0); !synced.ok()) {
              fail("sync: " + synced.message());
            }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0) << "a thread read bytes it had not written, or an op failed; "
                                 "the first: " << first_failure;

  // Phase 2: anything goes, truncates included; then the engine must equal origin.
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed * 31 + static_cast<unsigned>(t));
      std::vector<std::unique_ptr<OpenFile>> files;
      for (int f = 0; f < kFiles; ++f) files.push_back(Open(f));
      for (int step = 0; step < 300; ++step) {
        const int f = static_cast<int>(rng() % kFiles);
        const off_t offset = static_cast<off_t>(rng() % kFileSize);
        const size_t length = 1 + rng() % (2 * kBlock);
        switch (rng() % 6) {
          case 0: {
            std::string data(length, static_cast<char>('a' + rng() % 26));
            (void)files[f]->Write(offset, std::span<const char>(data.data(), data.size()), kRootCaller);
            break;
          }
          case 1:
            (void)files[f]->Truncate(static_cast<off_t>(rng() % kFileSize), kRootCaller);
            break;
          case 2:
            (void)files[f]->Sync(false);
            break;
          default: {
            std::string out(length, '\0');
            (void)files[f]->Read(offset, out);
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int f = 0; f < kFiles; ++f) {
    auto file = Open(f);
    const std::string origin = ReadFile(Origin(f));
    for (int pass = 0; pass < 2; ++pass) {  // second pass from the cache
      std::string out(origin.size() + 10, '\0');
      auto n = file->Read(0, out);
      ASSERT_TRUE(n.ok());
      out.resize(n.value());
      ASSERT_EQ(out, origin) << "file " << f << " pass " << pass;
    }
  }
}

}  // namespace
}  // namespace wtcachefs
