// SPDX-License-Identifier: Apache-2.0
// The writethrough contract of the cache engine (DESIGN §2), on real files, the
// real io_uring backend, and a fault-injecting wrapper for errors and forced
// interleavings.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "cache_dir/cache_directory.h"
#include "support/engine_test_config.h"
#include "support/fault_injecting_backend.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::FaultInjectingBackend;
using testing::kRootCaller;
using testing::ReadFile;
using testing::ReadsFrom;
using testing::TempDir;
using testing::WriteFile;
using testing::WritesTo;

constexpr uint32_t kBlock = 64 * 1024;

class CacheEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = MakeUringBackend();
    if (!real.ok()) GTEST_SKIP() << real.status().message();
    real_ = std::move(real).value();
    faults_ = std::make_unique<FaultInjectingBackend>(*real_);
    CreateEngine(64);
  }

  CacheConfig Config(uint64_t blocks, uint32_t error_limit = 8) {
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, blocks);
    config.error_limit = error_limit;
    config.error_half_life = std::chrono::seconds(60);
    config.clock = &clock_;
    config.reset = true;  // each test starts from an empty cache
    return config;
  }

  void CreateEngine(uint64_t blocks, uint32_t error_limit = 8) {
    engine_.reset();
    auto engine = CacheEngine::Start(Config(blocks, error_limit), *faults_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }

  std::unique_ptr<OpenFile> Open(const std::string& name) {
    return testing::OpenThrough(*engine_, Origin(name));
  }

  static std::string Read(OpenFile& file, off_t offset, size_t length) {
    return testing::ReadThrough(file, offset, length);
  }

  static void Write(OpenFile& file, off_t offset, const std::string& data) {
    auto n = file.Write(offset, std::span<const char>(data.data(), data.size()), kRootCaller);
    ASSERT_TRUE(n.ok()) << n.status().message();
    ASSERT_EQ(n.value(), data.size());
  }

  static std::string Pattern(size_t length, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(length, '\0');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<IoBackend> real_;
  std::unique_ptr<FaultInjectingBackend> faults_;
  std::unique_ptr<CacheEngine> engine_;
};

TEST_F(CacheEngineTest, FirstReadMissesAndPromotesSecondReadHitsTheCache) {
  const std::string data = Pattern(3 * kBlock + 100, 1);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EngineStats first = engine_->stats();
  EXPECT_EQ(first.read_misses, 1u);
  EXPECT_EQ(first.read_hits, 0u);
  EXPECT_EQ(first.promotions, 4u);
  EXPECT_EQ(first.used_blocks, 4u);
  EXPECT_EQ(first.bytes_read_from_cache, 0u);

  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EngineStats second = engine_->stats();
  EXPECT_EQ(second.read_hits, 1u);
  EXPECT_EQ(second.bytes_read_from_cache, data.size());
  EXPECT_EQ(second.bytes_read_from_origin, first.bytes_read_from_origin);
}

// Every counter of `shorter` is at most that of `longer`.
void ExpectWithin(const EngineStats& shorter, const EngineStats& longer, const std::string& what) {
  EngineStats copy = shorter;
  ForEachCounter(copy, [&](std::string_view name, uint64_t& value) {
    EXPECT_LE(value, *CounterByName(const_cast<EngineStats&>(longer), name)) << name << ": " << what;
  });
}

TEST_F(CacheEngineTest, StatusWindowsOfAYoungMountHoldItAllAndNeverExceedALongerWindow) {
  using namespace std::chrono_literals;
  WriteFile(Origin("f"), Pattern(4 * kBlock, 1));
  {
    auto file = Open("f");
    ASSERT_TRUE(file);
    Read(*file, 0, 4 * kBlock);  // misses
    Read(*file, 0, 4 * kBlock);  // hits
  }
  const EngineStats total = engine_->stats();
  ASSERT_GT(total.read_misses, 0u);
  ASSERT_GT(total.read_hits, 0u);
  for (const std::chrono::seconds window : {std::chrono::seconds(5min), std::chrono::seconds(1h),
                                            std::chrono::seconds(24h)}) {
    EngineStats recent = engine_->recent_stats(total, window);
    ForEachCounter(recent, [&](std::string_view name, uint64_t& value) {
      EXPECT_EQ(value, *CounterByName(const_cast<EngineStats&>(total), name))
          << name << " in the " << window.count() << " s window of a mount younger than it";
    });
  }

  // Ten minutes on, once the flusher has taken a sample (a window of 0 s then
  // holds nothing), ten more minutes and more reads: the last five minutes hold
  // only these, the hour and the day everything.
  clock_.Advance(10min);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (engine_->recent_stats(engine_->stats(), 0s).read_misses != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the flusher took no sample";
    std::this_thread::sleep_for(50ms);
  }
  clock_.Advance(10min);
  {
    auto file = Open("f");
    ASSERT_TRUE(file);
    Read(*file, 0, 4 * kBlock);
  }
  const EngineStats later = engine_->stats();
  const EngineStats last5 = engine_->recent_stats(later, 5min);
  const EngineStats hour = engine_->recent_stats(later, 1h);
  const EngineStats day = engine_->recent_stats(later, 24h);
  EXPECT_EQ(last5.read_misses, 0u);
  EXPECT_EQ(last5.read_hits, later.read_hits - total.read_hits);
  EXPECT_EQ(hour.read_misses, later.read_misses);
  EXPECT_EQ(hour.read_hits, later.read_hits);
  ExpectWithin(last5, hour, "5 min within the hour");
  ExpectWithin(hour, day, "the hour within the day");
  ExpectWithin(day, later, "the day within the totals");

  // A remount: the totals carry the earlier mount's counts, the windows start
  // at the new mount.
  engine_.reset();
  CacheConfig again = Config(64);
  again.reset = false;
  auto restarted = CacheEngine::Start(again, *faults_);
  ASSERT_TRUE(restarted.ok()) << restarted.status().message();
  engine_ = std::move(restarted).value();
  const EngineStats remounted = engine_->stats();
  EXPECT_EQ(remounted.read_hits, later.read_hits) << "totals are kept across mounts";
  const EngineStats fresh_day = engine_->recent_stats(remounted, 24h);
  EXPECT_EQ(fresh_day.read_hits, 0u);
  EXPECT_EQ(fresh_day.read_misses, 0u);
}

TEST_F(CacheEngineTest, SlotFileIsReadableByItsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(::stat((dir_.Sub("cache") + "/slots").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(CacheEngineTest, ReadSpanningCachedAndUncachedBlocksIsOneSubmission) {
  const std::string data = Pattern(3 * kBlock, 2);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  EXPECT_EQ(Read(*file, kBlock, kBlock), data.substr(kBlock, kBlock));  // cache block 1
  faults_->ClearHistory();
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  const auto batches = faults_->batches();
  ASSERT_GE(batches.size(), 1u);
  size_t slot_reads = 0, checksum_reads = 0, origin_reads = 0;
  for (const auto& r : batches[0]) {
    if (r.op != IoRequest::Op::kRead) continue;
    (r.fd == engine_->slot_fd()       ? slot_reads
     : r.fd == engine_->checksum_fd() ? checksum_reads
                                      : origin_reads)++;
  }
  EXPECT_EQ(slot_reads, 1u);
  EXPECT_EQ(checksum_reads, 1u) << "the hit's checksums are read with its data";
  EXPECT_EQ(origin_reads, 2u);
  EXPECT_EQ(engine_->stats().read_partial_hits, 1u);
}

// The requests of one write's batch, by where they go.
struct WriteRequests {
  std::vector<size_t> origin, cache, checksums;  // their lengths
};
WriteRequests SortWrites(const std::vector<testing::SeenRequest>& batch,
                         const CacheEngine& engine) {
  WriteRequests sorted;
  for (const auto& r : batch) {
    (r.fd == engine.slot_fd()       ? sorted.cache
     : r.fd == engine.checksum_fd() ? sorted.checksums
                                    : sorted.origin)
        .push_back(r.length);
  }
  return sorted;
}

TEST_F(CacheEngineTest, WriteSubmitsOriginAndCacheWritesInOneBatch) {
  auto file = Open("f");
  Write(*file, 0, Pattern(2 * kBlock, 3));  // write-allocate maps both blocks
  const auto batches = faults_->batches();
  ASSERT_EQ(batches.size(), 1u) << "origin and cache writes must be one submission";
  const WriteRequests w = SortWrites(batches[0], *engine_);
  EXPECT_EQ(w.origin.size(), 1u);
  EXPECT_FALSE(w.cache.empty());
  EXPECT_FALSE(w.checksums.empty()) << "the blocks' checksums go in the same submission";
}

TEST_F(CacheEngineTest, AWriteIntoConsecutiveSlotsIsOneCacheWriteAndOneChecksumWrite) {
  auto file = Open("f");
  // Not aligned to blocks or sectors: a partial first and last block, whose
  // partly written sectors have no checksum, and full blocks between.
  const off_t offset = 1000;
  const std::string data = Pattern(5 * kBlock + 7000, 21);
  faults_->ClearHistory();
  Write(*file, offset, data);
  const auto batches = faults_->batches();
  ASSERT_EQ(batches.size(), 1u);
  const WriteRequests w = SortWrites(batches[0], *engine_);
  ASSERT_EQ(w.cache.size(), 1u) << "six blocks in six consecutive slots";
  EXPECT_EQ(w.cache[0], data.size());
  ASSERT_EQ(w.checksums.size(), 1u) << "their checksums lie back to back";
  const size_t full_sectors = (offset + data.size()) / 4096 - (offset + 4095) / 4096;
  EXPECT_EQ(w.checksums[0], full_sectors * sizeof(uint32_t));
  // What was cached is right, and served from the cache.
  const uint64_t hits = engine_->stats().read_hits;
  EXPECT_EQ(Read(*file, 4096, 4 * kBlock), data.substr(4096 - offset, 4 * kBlock));
  EXPECT_GT(engine_->stats().read_hits, hits);
  EXPECT_EQ(ReadFile(Origin("f")).substr(offset), data);
}

TEST_F(CacheEngineTest, AWriteIntoScatteredSlotsWritesEachRunOfConsecutiveSlotsOnce) {
  auto file = Open("f");
  Write(*file, 0, Pattern(kBlock, 22));          // block 0: slot 0
  Write(*file, 2 * kBlock, Pattern(kBlock, 23));  // block 2: slot 1
  const std::string data = Pattern(3 * kBlock, 24);
  faults_->ClearHistory();
  Write(*file, 0, data);  // block 1 takes slot 2: slots 0, 2, 1
  const auto batches = faults_->batches();
  ASSERT_EQ(batches.size(), 1u);
  const WriteRequests w = SortWrites(batches[0], *engine_);
  EXPECT_EQ(w.cache.size(), 3u);
  EXPECT_EQ(w.checksums.size(), 3u);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);
}

TEST_F(CacheEngineTest, AFailedWriteSharedByConsecutiveSlotsCachesNoneOfThem) {
  auto file = Open("f");
  const std::string before = Pattern(4 * kBlock, 25);
  Write(*file, 0, before);
  faults_->FailWhen(WritesTo(engine_->slot_fd()), EIO);
  const std::string data = Pattern(4 * kBlock, 26);
  Write(*file, 0, data);  // origin has it; the cache write failed
  faults_->ClearFaults();
  EXPECT_EQ(engine_->stats().cache_write_errors, 1u);
  EXPECT_EQ(Read(*file, 0, data.size()), data) << "a block kept its old bytes";
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);
}

TEST_F(CacheEngineTest, WriteIsAcknowledgedOnlyAfterOriginAndCacheComplete) {
  auto file = Open("f");
  const std::string data = Pattern(kBlock, 4);
  // The origin write is performed but its completion is withheld.
  faults_->HoldCompletionWhen(WritesTo(file->origin_fd()));
  std::atomic<bool> acknowledged{false};
  std::thread writer([&] {
    Write(*file, 0, data);
    acknowledged = true;
  });
  ASSERT_TRUE(faults_->WaitUntilHeld());
  // The cache write was submitted with the origin write, before its completion.
  const auto batches = faults_->batches();
  ASSERT_EQ(batches.size(), 1u);
  bool cache_write_submitted = false;
  for (const auto& r : batches[0]) cache_write_submitted |= r.fd == engine_->slot_fd();
  EXPECT_TRUE(cache_write_submitted);
  EXPECT_FALSE(acknowledged) << "acknowledged before the origin completion arrived";
  faults_->Release();
  writer.join();
  EXPECT_TRUE(acknowledged);
  EXPECT_EQ(ReadFile(Origin("f")), data);
}

// Writes to different blocks of one file run at once (a VM image under a queue
// of O_DIRECT writes); a write to a block waits for the one in flight there, so
// origin and cache take them in the same order.
TEST_F(CacheEngineTest, WritesToOtherBlocksOfAFileOverlapAndWritesToOneBlockTakeTurns) {
  WriteFile(Origin("f"), Pattern(4 * kBlock, 60));
  auto file = Open("f");
  const std::string first = Pattern(kBlock, 61);
  faults_->HoldCompletionWhen(WritesTo(file->origin_fd()));
  std::thread held([&] { Write(*file, 0, first); });
  ASSERT_TRUE(faults_->WaitUntilHeld());

  std::atomic<bool> other_block_done{false};
  std::thread other_block([&] {
    Write(*file, 2 * kBlock, Pattern(kBlock, 62));
    other_block_done = true;
  });
  const std::string second = Pattern(kBlock, 63);
  std::atomic<bool> same_block_done{false};
  std::thread same_block([&] {
    Write(*file, 0, second);
    same_block_done = true;
  });
  for (int i = 0; i < 500 && !other_block_done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(other_block_done) << "a write to another block waited for the held one";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(same_block_done) << "a write to the held block did not wait for it";
  faults_->Release();
  held.join();
  other_block.join();
  same_block.join();
  const std::string origin = ReadFile(Origin("f"));
  EXPECT_EQ(origin.substr(0, kBlock), second) << "the two writes to block 0 reached origin out of order";
  EXPECT_EQ(Read(*file, 0, kBlock), second);
  EXPECT_EQ(Read(*file, 2 * kBlock, kBlock), Pattern(kBlock, 62));
}

TEST_F(CacheEngineTest, OriginWriteErrorReachesTheCallerAndInvalidatesTheBlocks) {
  const std::string old_data = Pattern(2 * kBlock, 5);
  WriteFile(Origin("f"), old_data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, old_data.size()), old_data);  // cached
  faults_->FailWhen(WritesTo(file->origin_fd()), ENOSPC);
  const std::string new_data = Pattern(2 * kBlock, 6);
  auto n = file->Write(0, std::span<const char>(new_data.data(), new_data.size()), kRootCaller);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().error(), ENOSPC);
  faults_->ClearFaults();
  EXPECT_EQ(engine_->stats().used_blocks, 0u) << "blocks touched by a failed write stay mapped";
  EXPECT_EQ(Read(*file, 0, old_data.size()), ReadFile(Origin("f")));
  EXPECT_EQ(engine_->stats().origin_write_errors, 1u);
}

// The asynchronous paths a FUSE ring thread takes (DESIGN 2b) keep the same
// promises: W4's intent is durable before a write is submitted (else the
// write is declined, nothing begun), W1's one submission, W3's errors.
TEST_F(CacheEngineTest, AnAsyncWriteIsDeclinedUntilItsIntentIsMarkedThenIsOneSubmission) {
  auto file = Open("f");
  const std::string data = Pattern(2 * kBlock, 31);
  bool ran = false;
  faults_->ClearHistory();
  EXPECT_FALSE(file->WriteAsync(0, data, kRootCaller, [&](Result<size_t>) { ran = true; }))
      << "submitted before its intent was durable";
  EXPECT_FALSE(ran);
  EXPECT_TRUE(faults_->batches().empty()) << "a declined write submitted IO";
  Write(*file, 0, Pattern(2 * kBlock, 30));  // marks the region
  faults_->ClearHistory();
  std::optional<Result<size_t>> result;
  ASSERT_TRUE(file->WriteAsync(0, data, kRootCaller, [&](Result<size_t> n) { result = std::move(n); }));
  ASSERT_TRUE(result.has_value()) << "this backend completes before returning";
  ASSERT_TRUE(result->ok()) << result->status().message();
  EXPECT_EQ(result->value(), data.size());
  const auto batches = faults_->batches();
  ASSERT_EQ(batches.size(), 1u) << "origin and cache writes must be one submission";
  const WriteRequests w = SortWrites(batches[0], *engine_);
  EXPECT_EQ(w.origin.size(), 1u);
  EXPECT_FALSE(w.cache.empty());
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(ReadFile(Origin("f")), data);
}

TEST_F(CacheEngineTest, AnAsyncWritesOriginErrorReachesItsCompletionAndInvalidates) {
  auto file = Open("f");
  Write(*file, 0, Pattern(2 * kBlock, 32));  // cached, region marked
  faults_->FailWhen(WritesTo(file->origin_fd()), ENOSPC);
  const std::string data = Pattern(2 * kBlock, 33);
  std::optional<Result<size_t>> result;
  ASSERT_TRUE(file->WriteAsync(0, data, kRootCaller, [&](Result<size_t> n) { result = std::move(n); }));
  faults_->ClearFaults();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->status().error(), ENOSPC);
  EXPECT_EQ(engine_->stats().used_blocks, 0u) << "blocks touched by a failed write stay mapped";
  EXPECT_EQ(Read(*file, 0, data.size()), ReadFile(Origin("f")));
}

// A thread that must not wait takes no write whose W6 stats would be a round
// trip to a slow origin: the write is declined, nothing begun, and the caller
// takes the waiting path, which still serves it.
TEST_F(CacheEngineTest, AnAsyncWriteIsDeclinedWhileOriginsStatsAreSlow) {
  auto file = Open("f");
  faults_->RunDuringStats([this] { clock_.Advance(std::chrono::milliseconds(5)); });
  Write(*file, 0, Pattern(2 * kBlock, 35));  // region marked, stats timed slow
  faults_->ClearHistory();
  const std::string data = Pattern(2 * kBlock, 36);
  bool ran = false;
  EXPECT_FALSE(file->WriteAsync(0, data, kRootCaller, [&](Result<size_t>) { ran = true; }))
      << "a thread that must not wait took a write whose stats are slow";
  EXPECT_FALSE(ran);
  EXPECT_TRUE(faults_->batches().empty()) << "a declined write submitted IO";
  Write(*file, 0, data);
  faults_->ClearFaults();
  EXPECT_EQ(ReadFile(Origin("f")), data);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
}

TEST_F(CacheEngineTest, AnAsyncReadOfHitsAndMissesServesOriginsBytesAndPromotes) {
  const std::string data = Pattern(3 * kBlock, 34);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  EXPECT_EQ(Read(*file, kBlock, kBlock), data.substr(kBlock, kBlock));  // block 1 cached
  std::string out(data.size(), '\0');
  std::optional<Result<size_t>> result;
  ASSERT_TRUE(file->ReadAsync(0, std::span<char>(out.data(), out.size()),
                              [&](Result<size_t> n) { result = std::move(n); }));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status().message();
  EXPECT_EQ(result->value(), data.size());
  EXPECT_EQ(out, data);
  EXPECT_EQ(engine_->stats().read_partial_hits, 1u);
  EXPECT_EQ(engine_->stats().used_blocks, 3u) << "the misses were not promoted";
}

TEST_F(CacheEngineTest, CacheWriteErrorStillSucceedsInvalidatesAndCounts) {
  const std::string old_data = Pattern(kBlock, 7);
  WriteFile(Origin("f"), old_data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, kBlock), old_data);
  faults_->FailWhen(WritesTo(engine_->slot_fd()), EIO);
  const std::string new_data = Pattern(kBlock, 8);
  Write(*file, 0, new_data);
  faults_->ClearFaults();
  const EngineStats stats = engine_->stats();
  EXPECT_EQ(stats.cache_write_errors, 1u);
  EXPECT_EQ(stats.used_blocks, 0u);
  EXPECT_FALSE(stats.degraded);
  EXPECT_EQ(ReadFile(Origin("f")), new_data);
  EXPECT_EQ(Read(*file, 0, kBlock), new_data);
}

TEST_F(CacheEngineTest, RepeatedCacheErrorsDegradeToOriginOnlyAndKeepServing) {
  CreateEngine(64, /*error_limit=*/3);
  auto file = Open("f");
  faults_->FailWhen(WritesTo(engine_->slot_fd()), EIO);
  for (int i = 0; i < 3; ++i) Write(*file, i * kBlock, Pattern(kBlock, 10 + i));
  faults_->ClearFaults();
  EXPECT_TRUE(engine_->stats().degraded);
  const std::string data = Pattern(kBlock, 20);
  Write(*file, 0, data);
  faults_->ClearHistory();
  EXPECT_EQ(Read(*file, 0, kBlock), data);
  for (const auto& batch : faults_->batches()) {
    for (const auto& r : batch) EXPECT_NE(r.fd, engine_->slot_fd()) << "degraded mode used the cache";
  }
  EXPECT_EQ(ReadFile(Origin("f")).substr(0, kBlock), data);
}

// A failing cache device degrades the mount and may leave the metadata store
// damaged; the next mount discards the store (losing warmth), but the counters
// of the earlier mounts and of the degraded one, as far as it recorded them,
// are carried over.
TEST_F(CacheEngineTest, CountersOfEarlierAndDegradedSessionsSurviveADiscardedStore) {
  CreateEngine(64, /*error_limit=*/3);
  WriteFile(Origin("f"), Pattern(4 * kBlock, 60));
  {
    auto file = Open("f");
    ASSERT_EQ(Read(*file, 0, 4 * kBlock), ReadFile(Origin("f")));  // misses, promoted
  }
  ASSERT_TRUE(engine_->Close().ok());
  const EngineStats first = engine_->stats();
  ASSERT_GT(first.read_misses, 0u);
  ASSERT_GT(first.promotions, 0u);
  engine_.reset();

  CacheConfig again = Config(64, /*error_limit=*/3);
  again.reset = false;
  auto second = CacheEngine::Start(again, *faults_);
  ASSERT_TRUE(second.ok()) << second.status().message();
  {
    auto file = testing::OpenThrough(*second.value(), Origin("f"));
    faults_->FailWhen(WritesTo(second.value()->slot_fd()), EIO);
    for (int i = 0; i < 3; ++i) Write(*file, i * kBlock, Pattern(kBlock, 70 + i));
    faults_->ClearFaults();
  }
  ASSERT_TRUE(second.value()->stats().degraded);
  ASSERT_TRUE(second.value()->Close().ok());
  const EngineStats degraded = second.value()->stats();
  second.value().reset();
  // What the failing device left of the store: a damaged commit record.
  WriteFile(dir_.Sub("cache", false) + CacheDirectory::kMetaDirName + ".commit", "garbage");

  auto third = CacheEngine::Start(again, *faults_);
  ASSERT_TRUE(third.ok()) << third.status().message();
  const std::vector<std::string>& warnings = third.value()->warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("its statistics are kept"), std::string::npos) << warnings[0];
  const EngineStats after = third.value()->stats();
  EXPECT_EQ(after.used_blocks, 0u) << "the store was discarded: the cache starts cold";
  EXPECT_FALSE(after.degraded);
  EXPECT_EQ(after.read_misses, degraded.read_misses);
  EXPECT_EQ(after.promotions, degraded.promotions);
  EXPECT_EQ(after.write_hits + after.write_misses, degraded.write_hits + degraded.write_misses);
  EXPECT_EQ(after.cache_write_errors, 3u) << "the degraded session's errors";
  EXPECT_EQ(after.bytes_read_from_origin, first.bytes_read_from_origin);
}

TEST_F(CacheEngineTest, CacheErrorsSpreadOverTimeDecayAndDoNotDegrade) {
  CreateEngine(64, /*error_limit=*/3);
  auto file = Open("f");
  faults_->FailWhen(WritesTo(engine_->slot_fd()), EIO);
  // One error every two half-lives: the weight never passes 1 + 1/4 + 1/16 ...
  for (int i = 0; i < 10; ++i) {
    Write(*file, 0, Pattern(kBlock, 40 + i));
    clock_.Advance(std::chrono::seconds(120));
  }
  EXPECT_FALSE(engine_->stats().degraded);
  EXPECT_EQ(engine_->stats().cache_write_errors, 10u);
  // Three in a row reach the limit.
  for (int i = 0; i < 3; ++i) Write(*file, 0, Pattern(kBlock, 50 + i));
  EXPECT_TRUE(engine_->stats().degraded);
  faults_->ClearFaults();
  EXPECT_EQ(ReadFile(Origin("f")).substr(0, kBlock), Pattern(kBlock, 52));
}

TEST_F(CacheEngineTest, CacheReadErrorFallsBackToOrigin) {
  const std::string data = Pattern(kBlock, 21);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, kBlock), data);
  faults_->FailWhen(ReadsFrom(engine_->slot_fd()), EIO);
  EXPECT_EQ(Read(*file, 0, kBlock), data);
  faults_->ClearFaults();
  EXPECT_EQ(engine_->stats().cache_read_errors, 1u);
}

TEST_F(CacheEngineTest, PromotionRacingAWriteNeverLeavesStaleData) {
  const std::string old_data = Pattern(kBlock, 30);
  WriteFile(Origin("f"), old_data);
  auto reader_file = Open("f");
  auto writer_file = Open("f");
  // The read miss has fetched the old bytes from origin; hold it there.
  faults_->HoldCompletionWhen(ReadsFrom(reader_file->origin_fd()));
  std::string first_read;
  std::thread reader([&] { first_read = Read(*reader_file, 0, kBlock); });
  ASSERT_TRUE(faults_->WaitUntilHeld());
  const std::string new_data = Pattern(kBlock, 31);
  Write(*writer_file, 0, new_data);  // lands while the promotion is in flight
  faults_->Release();
  reader.join();
  EXPECT_EQ(first_read, old_data);  // a read concurrent with a write may see either
  EXPECT_EQ(Read(*reader_file, 0, kBlock), new_data) << "the raced promotion installed stale data";
  EXPECT_EQ(Read(*writer_file, 0, kBlock), ReadFile(Origin("f")));
}

TEST_F(CacheEngineTest, ReadMissDuringAWriteIsNotPromoted) {
  const std::string old_data = Pattern(kBlock, 32);
  WriteFile(Origin("f"), old_data);
  auto reader_file = Open("f");
  auto writer_file = Open("f");
  const std::string new_data = Pattern(kBlock, 33);
  faults_->HoldCompletionWhen(WritesTo(writer_file->origin_fd()));
  std::thread writer([&] { Write(*writer_file, 0, new_data); });
  ASSERT_TRUE(faults_->WaitUntilHeld());
  Read(*reader_file, 0, kBlock);
  const uint64_t promotions = engine_->stats().promotions;
  faults_->Release();
  writer.join();
  EXPECT_EQ(promotions, 0u);
  EXPECT_EQ(Read(*reader_file, 0, kBlock), new_data);
}

TEST_F(CacheEngineTest, OriginChangedBehindTheEngineIsDetectedAtOpen) {
  WriteFile(Origin("f"), Pattern(kBlock, 40));
  {
    auto file = Open("f");
    Read(*file, 0, kBlock);
    EXPECT_TRUE(file->page_cache_valid() == false);  // first sight of the file
  }
  {
    auto file = Open("f");
    EXPECT_TRUE(file->page_cache_valid());
  }
  const std::string changed = Pattern(kBlock, 41);
  WriteFile(Origin("f"), changed);  // same size, new content and mtime
  auto file = Open("f");
  EXPECT_FALSE(file->page_cache_valid());
  EXPECT_EQ(Read(*file, 0, kBlock), changed);
}

// DESIGN W6, NFSv3's weak cache consistency: a write through the engine to a
// file changed behind it since it last looked drops what it cached of the file
// instead of adopting the change as its own.
TEST_F(CacheEngineTest, W6AWriteNeverAdoptsAnEarlierChangeBehindTheEngine) {
  WriteFile(Origin("f"), Pattern(4 * kBlock, 42));
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, 4 * kBlock), Pattern(4 * kBlock, 42));  // cached
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // another timestamp tick
  const std::string external = Pattern(kBlock, 43);
  {
    UniqueFd fd(::open(Origin("f").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_EQ(::pwrite(fd.get(), external.data(), external.size(), 0),
              static_cast<ssize_t>(external.size()));
  }
  Write(*file, 2 * kBlock, Pattern(kBlock, 44));
  EXPECT_EQ(Read(*file, 0, kBlock), external) << "through the open file";
  auto again = Open("f");
  EXPECT_FALSE(again->page_cache_valid());
  EXPECT_EQ(Read(*again, 0, kBlock), external) << "after a new open";
}

// The converse: an open while another file's write is under way, however its
// stat and the write interleave, never takes that write for a change behind
// the engine (which would drop the whole file).
TEST_F(CacheEngineTest, W6AnOpenDuringTheEnginesOwnWriteDropsNothing) {
  WriteFile(Origin("f"), Pattern(4 * kBlock, 45));
  auto writer = Open("f");
  ASSERT_EQ(Read(*writer, 0, 4 * kBlock), Pattern(4 * kBlock, 45));
  const uint64_t invalidations = engine_->stats().invalidations;
  faults_->HoldCompletionWhen(WritesTo(writer->origin_fd()));
  std::thread held([&] { Write(*writer, kBlock, Pattern(kBlock, 46)); });
  ASSERT_TRUE(faults_->WaitUntilHeld());
  auto during = Open("f");  // the origin write has landed, its completion is held
  EXPECT_FALSE(during->page_cache_valid()) << "a write is under way";
  faults_->Release();
  held.join();
  auto after = Open("f");
  EXPECT_TRUE(after->page_cache_valid());
  EXPECT_EQ(engine_->stats().invalidations, invalidations);
  const uint64_t misses = engine_->stats().read_misses;
  EXPECT_EQ(Read(*after, 0, 4 * kBlock), ReadFile(Origin("f")));
  EXPECT_EQ(engine_->stats().read_misses, misses) << "the file's blocks were dropped";
}

// DESIGN W6 on the engine's clock: a file held open compares origin's
// attributes again on its first read once the revalidation interval has
// passed since the last comparison, and not before (no stat per read).
TEST_F(CacheEngineTest, W6AFileHeldOpenComparesAgainOnTheFirstReadOnceTheIntervalHasPassed) {
  const std::string before = Pattern(2 * kBlock, 50);
  WriteFile(Origin("f"), before);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, before.size()), before);  // cached
  const std::string after = Pattern(2 * kBlock, 51);
  WriteFile(Origin("f"), after);
  clock_.Advance(std::chrono::milliseconds(999));
  EXPECT_EQ(Read(*file, 0, before.size()), before) << "compared before the interval passed";
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(Read(*file, 0, after.size()), after);
  const uint64_t hits = engine_->stats().read_hits;
  EXPECT_EQ(Read(*file, 0, after.size()), after);
  EXPECT_EQ(engine_->stats().read_hits, hits + 1) << "the new bytes were not cached";
}

// Reads the kernel serves from its page cache never reach the engine: the
// sweep of open files compares them once the interval has passed.
TEST_F(CacheEngineTest, W6TheSweepComparesAnOpenFileThatNoReadReachesOnceTheIntervalHasPassed) {
  WriteFile(Origin("f"), Pattern(2 * kBlock, 52));
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, 2 * kBlock).size(), 2 * kBlock);
  ASSERT_EQ(engine_->stats().used_blocks, 2u);
  WriteFile(Origin("f"), Pattern(2 * kBlock, 53));
  // A sweep runs every quarter of the interval (real time): none finds the file due.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(engine_->stats().used_blocks, 2u) << "compared before the interval passed";
  clock_.Advance(std::chrono::seconds(1));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (engine_->stats().used_blocks != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(engine_->stats().used_blocks, 0u) << "the sweep did not find the change";
}

TEST_F(CacheEngineTest, TruncatedTailReadsAsZerosAfterRegrowth) {
  const std::string data = Pattern(2 * kBlock, 50);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  ASSERT_TRUE(file->Truncate(5000, kRootCaller).ok());
  ASSERT_TRUE(file->Truncate(2 * kBlock, kRootCaller).ok());
  const std::string expected = data.substr(0, 5000) + std::string(2 * kBlock - 5000, '\0');
  EXPECT_EQ(Read(*file, 0, 2 * kBlock), expected);
  EXPECT_EQ(ReadFile(Origin("f")), expected);
}

TEST_F(CacheEngineTest, PunchedHoleReadsAsZeros) {
  const std::string data = Pattern(kBlock, 51);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, kBlock), data);
  ASSERT_TRUE(file->Allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 9000, kRootCaller).ok());
  EXPECT_EQ(Read(*file, 0, kBlock), ReadFile(Origin("f")));
}

TEST_F(CacheEngineTest, ReadsPastEndOfFileAreShort) {
  WriteFile(Origin("f"), "0123456789");
  auto file = Open("f");
  EXPECT_EQ(Read(*file, 5, 100), "56789");
  EXPECT_EQ(Read(*file, 5, 100), "56789");  // from the cache this time
  EXPECT_EQ(Read(*file, 10, 100), "");
}

TEST_F(CacheEngineTest, FullCacheBypassesAndNeverFailsAnOperation) {
  CreateEngine(2);
  const std::string data = Pattern(8 * kBlock, 60);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  const std::string more = Pattern(8 * kBlock, 61);
  Write(*file, 0, more);
  EXPECT_EQ(Read(*file, 0, more.size()), more);
  EXPECT_LE(engine_->stats().used_blocks, 2u);
}

// Random reads, writes, truncates and hole punches, some with cache errors
// injected: after every step the engine's view equals origin (W2, W3).
TEST_F(CacheEngineTest, RandomOperationsAlwaysReadBackOriginsBytes) {
  CreateEngine(16, /*error_limit=*/1000);
  const unsigned seed = std::random_device()();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto file = Open("f");
  const uint64_t span = 24 * kBlock;
  for (int step = 0; step < 1500; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const bool inject = rng() % 10 == 0;
    if (inject) faults_->FailWhen(WritesTo(engine_->slot_fd()), EIO);
    const uint64_t offset = rng() % span;
    const size_t length = 1 + rng() % (2 * kBlock);
    switch (rng() % 5) {
      case 0:
      case 1:
        Write(*file, static_cast<off_t>(offset), Pattern(length, static_cast<unsigned>(rng())));
        break;
      case 2:
        ASSERT_TRUE(file->Truncate(static_cast<off_t>(rng() % span), kRootCaller).ok());
        break;
      case 3:
        ASSERT_TRUE(file->Allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                   static_cast<off_t>(offset), static_cast<off_t>(length), kRootCaller)
                        .ok());
        break;
      default:
        break;
    }
    faults_->ClearFaults();
    const std::string origin = ReadFile(Origin("f"));
    const uint64_t read_offset = rng() % (origin.size() + 1);
    const size_t read_length = 1 + rng() % (3 * kBlock);
    const std::string expected = origin.substr(read_offset, read_length);
    ASSERT_EQ(Read(*file, static_cast<off_t>(read_offset), read_length), expected);
  }
  EXPECT_GT(engine_->stats().read_hits + engine_->stats().read_partial_hits, 0u);
}

}  // namespace
}  // namespace wtcachefs
