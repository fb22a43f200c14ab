// SPDX-License-Identifier: Apache-2.0
// engine_memory_bench: the resident memory a cache costs per cached block, and
// how long a restart (loading every mapping) takes.
//
//   engine_memory_bench [WORKDIR] [BLOCKS]
//       The real engine, 4 KiB blocks: fills a cache of BLOCKS blocks by
//       reading a sparse origin file, then reads as many other blocks (every
//       block is evicted and the policy's ghost lists fill), then closes and
//       restarts the engine. WORKDIR needs BLOCKS * 4 KiB of free space for the
//       slot file.
//   engine_memory_bench --index-only WORKDIR BLOCKS [BLOCK_SIZE]
//       The engine's block index and its metadata store (RocksDB, as the
//       engine configures it) without data: BLOCKS mappings of BLOCK_SIZE
//       (default 65536) blocks committed in group commits as the engine does,
//       every one read again, a scan of as many more (the ghost lists' worst
//       case), then a restart that loads every mapping.
//       For caches too big to fill here (16M blocks of 64 KiB are 1 TiB).
//       --policy=lru|2q|arc (default arc). With --keep the store stays in
//       WORKDIR, and
//   engine_memory_bench --load-only WORKDIR BLOCKS [BLOCK_SIZE]
//       repeats only its restart (to profile it).
//
// Every figure counts the whole process: RSS growth from before the cache was
// opened, divided by the blocks cached (index, policy and ghosts, sector
// validity, RocksDB memtables and block cache, object records).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wtcachefs/block_index.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/meta_store.h"

namespace {

using Clock = std::chrono::steady_clock;

long ResidentKiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
    status.ignore(1 << 20, '\n');
  }
  return -1;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double BytesPerBlock(long kib, uint64_t blocks) {
  return blocks == 0 ? 0 : 1024.0 * static_cast<double>(kib) / static_cast<double>(blocks);
}

void Report(const char* what, long kib, uint64_t blocks) {
  std::printf("%-34s %8.1f MiB  %6.1f bytes per cached block\n", what,
              static_cast<double>(kib) / 1024.0, BytesPerBlock(kib, blocks));
}

int EngineBench(const std::string& work, uint64_t blocks) {
  constexpr uint32_t kBlock = 4096;
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work + "/origin");
  std::filesystem::create_directories(work + "/cache");
  const std::string origin_file = work + "/origin/disk.img";
  std::ofstream(origin_file).close();
  // Twice the cache: the second half evicts the first.
  if (::truncate(origin_file.c_str(), static_cast<off_t>(2 * blocks * kBlock)) != 0) {
    std::perror("truncate origin");
    return 1;
  }
  auto io = wtcachefs::MakeUringBackend();
  if (!io.ok()) {
    std::fprintf(stderr, "%s\n", io.status().message().c_str());
    return 1;
  }
  wtcachefs::CacheConfig config;
  config.cache_dir = work + "/cache";
  config.origin_path = work + "/origin";
  struct stat st;
  ::stat(config.origin_path.c_str(), &st);
  config.origin_dev = st.st_dev;
  config.origin_ino = st.st_ino;
  config.block_size = kBlock;
  // Room for every block (the policy's reserve of 1/64 stays free), and the
  // fill is one sequential stream: no cutoff, so that every block is cached.
  config.cache_bytes = (blocks + blocks / 64 + 16) * kBlock;
  config.sequential_cutoff = 0;

  const long rss_start = ResidentKiB();
  {
    auto engine = wtcachefs::CacheEngine::Start(config, *io.value());
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().message().c_str());
      return 1;
    }
    const long rss_empty = ResidentKiB() - rss_start;
    auto file = engine.value()->Open(
        wtcachefs::UniqueFd(::open(origin_file.c_str(), O_RDWR | O_CLOEXEC)));
    std::vector<char> buffer(1 << 20);
    const auto read_range = [&](uint64_t first_block) {
      for (uint64_t offset = first_block * kBlock; offset < (first_block + blocks) * kBlock;
           offset += buffer.size()) {
        if (!file.value()->Read(static_cast<off_t>(offset), buffer).ok()) {
          std::fprintf(stderr, "read failed at %llu\n", static_cast<unsigned long long>(offset));
          return false;
        }
      }
      return true;
    };
    const auto fill_start = Clock::now();
    if (!read_range(0)) return 1;
    const double fill_s = Seconds(fill_start);
    const long rss_full = ResidentKiB() - rss_start;
    const uint64_t cached = engine.value()->stats().used_blocks;
    if (!read_range(blocks)) return 1;
    const long rss_churned = ResidentKiB() - rss_start;
    const wtcachefs::EngineStats stats = engine.value()->stats();
    file.value().reset();
    const auto close_start = Clock::now();
    if (!engine.value()->Close().ok()) return 1;
    const double close_s = Seconds(close_start);
    std::printf("blocks cached                      %llu of %llu (4 KiB blocks), %llu evicted\n",
                static_cast<unsigned long long>(cached),
                static_cast<unsigned long long>(stats.total_blocks),
                static_cast<unsigned long long>(stats.demotions));
    std::printf("fill time                          %.1f s\n", fill_s);
    Report("RSS, empty engine", rss_empty, cached);
    Report("RSS, cache filled", rss_full, cached);
    Report("RSS, after evicting every block", rss_churned, stats.used_blocks);
    std::printf("clean shutdown                     %.2f s\n", close_s);
  }
  const long rss_before_restart = ResidentKiB();
  const auto restart_start = Clock::now();
  auto engine = wtcachefs::CacheEngine::Start(config, *io.value());
  if (!engine.ok()) return 1;
  const double restart_s = Seconds(restart_start);
  const uint64_t loaded = engine.value()->stats().used_blocks;
  std::printf("restart (load mappings)            %.2f s for %llu blocks\n", restart_s,
              static_cast<unsigned long long>(loaded));
  Report("RSS after restart (growth)", ResidentKiB() - rss_before_restart, loaded);
  Report("RSS after restart (from start)", ResidentKiB() - rss_start, loaded);
  engine.value().reset();
  std::filesystem::remove_all(work);
  return 0;
}

// Commits the index's changes as the engine's group commit does, and makes
// the quarantined slots free again.
bool Commit(wtcachefs::BlockIndex& index, wtcachefs::MetaStore& store) {
  wtcachefs::BlockIndex::Changes changes = index.TakeChanges();
  wtcachefs::MetaBatch batch;
  for (const auto& block : changes.blocks) {
    if (block.mapping) {
      batch.PutMapping({block.key.object_id, block.key.block, block.mapping->first,
                        block.mapping->second.ToBytes()});
    } else {
      batch.DeleteMapping(block.key.object_id, block.key.block);
    }
  }
  if (!store.Commit(batch, /*sync=*/false).ok()) return false;
  index.ReleaseQuarantined(changes.quarantined_slots);
  return true;
}

// The restart half of IndexBench on a store it kept.
int LoadBench(const std::string& work, uint64_t blocks, uint32_t block_size);

wtcachefs::PolicyKind bench_policy = wtcachefs::kDefaultPolicy;

int IndexBench(const std::string& work, uint64_t blocks, uint32_t block_size, bool keep) {
  constexpr uint64_t kGroupCommit = 4096;  // mappings per commit
  const uint32_t sectors = block_size / 4096;
  const uint64_t slots = blocks + blocks / 64 + 16;
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  const long rss_start = ResidentKiB();
  uint64_t cached = 0, after_churn = 0;
  {
    auto store = wtcachefs::MetaStore::Open(work);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().message().c_str());
      return 1;
    }
    wtcachefs::BlockIndex index(slots, sectors, bench_policy);
    const long rss_empty = ResidentKiB() - rss_start;
    const auto promote = [&](uint64_t first, uint64_t count) {
      for (uint64_t b = first; b < first + count; ++b) {
        const wtcachefs::BlockKey key{1, b};
        index.PrepareForAllocations(1);
        const auto pinned = index.BeginPromotion(key, /*filtered=*/false);
        if (pinned) index.EndPromotion(key, *pinned, 0, sectors, /*copied=*/true);
        if ((b + 1) % kGroupCommit == 0 && !Commit(index, *store.value())) return false;
      }
      return Commit(index, *store.value());
    };
    const auto fill_start = Clock::now();
    if (!promote(0, blocks)) return 1;
    const double fill_s = Seconds(fill_start);
    cached = index.mapped_blocks();
    const long rss_full = ResidentKiB() - rss_start;
    const uint64_t index_bytes = index.memory_bytes();
    // Every cached block read again (ARC: all frequent), then a scan of as
    // many new blocks: the worst case for the ghost lists, about one ghost
    // per slot.
    for (uint64_t b = 0; b < blocks; ++b) {
      if (const auto pinned = index.PinForRead({1, b})) index.Unpin(pinned->slot);
    }
    if (!promote(blocks, blocks)) return 1;
    after_churn = index.mapped_blocks();
    const long rss_churned = ResidentKiB() - rss_start;
    std::printf("blocks cached                      %llu of %llu (%u KiB blocks), %llu evicted\n",
                static_cast<unsigned long long>(cached), static_cast<unsigned long long>(slots),
                block_size / 1024, static_cast<unsigned long long>(index.demotions()));
    std::printf("fill time                          %.1f s\n", fill_s);
    Report("RSS, empty index and store", rss_empty, cached);
    Report("RSS, cache filled", rss_full, cached);
    std::printf("%-34s %8.1f MiB  %6.1f bytes per cached block\n", "index memory, cache filled",
                static_cast<double>(index_bytes) / 1048576.0,
                static_cast<double>(index_bytes) / static_cast<double>(cached));
    std::printf("%-34s %8.1f MiB  %6.1f bytes per cached block\n",
                "index memory, hot set + scan",
                static_cast<double>(index.memory_bytes()) / 1048576.0,
                static_cast<double>(index.memory_bytes()) / static_cast<double>(after_churn));
    Report("RSS, hot set + scan", rss_churned, after_churn);
  }
  const int loaded = LoadBench(work, blocks, block_size);
  if (!keep) std::filesystem::remove_all(work);
  return loaded;
}

int LoadBench(const std::string& work, uint64_t blocks, uint32_t block_size) {
  const uint32_t sectors = block_size / 4096;
  const uint64_t slots = blocks + blocks / 64 + 16;
  const long rss_before_restart = ResidentKiB();
  const auto restart_start = Clock::now();
  auto store = wtcachefs::MetaStore::Open(work);
  if (!store.ok()) return 1;
  const double open_s = Seconds(restart_start);
  wtcachefs::BlockIndex index(slots, sectors, bench_policy);
  const double index_s = Seconds(restart_start) - open_s;
  uint64_t refused = 0;
  std::vector<wtcachefs::BlockMapping> batch;
  const auto restore = [&] {
    index.RestoreBatch(batch, [&](const wtcachefs::BlockMapping&) { ++refused; });
    batch.clear();
  };
  const wtcachefs::Status loaded =
      store.value()->ForEachMapping(sectors, [&](wtcachefs::BlockMapping&& m) {
        batch.push_back(std::move(m));
        if (batch.size() == wtcachefs::BlockIndex::kRestoreBatch) restore();
      });
  restore();
  if (!loaded.ok() || refused > 0) {
    std::fprintf(stderr, "restart failed: %s, %llu refused\n", loaded.message().c_str(),
                 static_cast<unsigned long long>(refused));
    return 1;
  }
  index.FinishRestore();
  const double restart_s = Seconds(restart_start);
  std::printf("restart (open store, load mappings) %.2f s for %llu blocks (open %.2f s, index %.2f s)\n",
              restart_s, static_cast<unsigned long long>(index.mapped_blocks()), open_s, index_s);
  Report("RSS after restart (growth)", ResidentKiB() - rss_before_restart, index.mapped_blocks());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool index_only = argc > 1 && std::strcmp(argv[1], "--index-only") == 0;
  const bool load_only = argc > 1 && std::strcmp(argv[1], "--load-only") == 0;
  if (index_only || load_only) {
    if (argc < 4) {
      std::fprintf(stderr, "usage: %s --index-only|--load-only WORKDIR BLOCKS [BLOCK_SIZE [--keep] [--policy=P]]\n",
                   argv[0]);
      return 1;
    }
    const uint64_t block_size = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 65536;
    if (block_size < 4096 || block_size > (4u << 20) || (block_size & (block_size - 1)) != 0) {
      std::fprintf(stderr, "BLOCK_SIZE must be a power of two from 4096 to 4194304\n");
      return 1;
    }
    const uint64_t blocks = std::strtoull(argv[3], nullptr, 10);
    if (load_only) return LoadBench(argv[2], blocks, static_cast<uint32_t>(block_size));
    bool keep = false;
    for (int i = 5; i < argc; ++i) {
      if (std::strcmp(argv[i], "--keep") == 0) {
        keep = true;
      } else if (std::strncmp(argv[i], "--policy=", 9) == 0) {
        const auto policy = wtcachefs::PolicyByName(argv[i] + 9);
        if (!policy) {
          std::fprintf(stderr, "--policy: lru, 2q or arc\n");
          return 1;
        }
        bench_policy = *policy;
      }
    }
    return IndexBench(argv[2], blocks, static_cast<uint32_t>(block_size), keep);
  }
  const std::string work = argc > 1 ? argv[1] : "/tmp/wtcachefs-memory-bench";
  const uint64_t blocks = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  return EngineBench(work, blocks);
}
