// engine_memory_bench: fills a cache with N blocks (default 1,000,000 of 4 KiB)
// through the real engine, then reports the resident memory per cached block and
// how long a clean shutdown and a restart (loading every mapping) take.
//
//   engine_memory_bench [WORKDIR] [BLOCKS]
//
// WORKDIR needs about BLOCKS * 4 KiB of free space for the slot file; the origin
// file is sparse.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wtcachefs/cache_engine.h"

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

}  // namespace

int main(int argc, char** argv) {
  const std::string work = argc > 1 ? argv[1] : "/tmp/wtcachefs-memory-bench";
  const uint64_t blocks = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  constexpr uint32_t kBlock = 4096;
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work + "/origin");
  std::filesystem::create_directories(work + "/cache");
  const std::string origin_file = work + "/origin/disk.img";
  if (::truncate(origin_file.c_str(), 0) != 0) {
    std::ofstream(origin_file).close();
  }
  if (::truncate(origin_file.c_str(), static_cast<off_t>(blocks * kBlock)) != 0) {
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
  auto fill_start = Clock::now();
  {
    auto engine = wtcachefs::CacheEngine::Start(config, *io.value());
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().message().c_str());
      return 1;
    }
    const long rss_empty = ResidentKiB();
    auto file = engine.value()->Open(
        wtcachefs::UniqueFd(::open(origin_file.c_str(), O_RDWR | O_CLOEXEC)));
    std::vector<char> buffer(1 << 20);
    for (uint64_t offset = 0; offset < blocks * kBlock; offset += buffer.size()) {
      if (!file.value()->Read(static_cast<off_t>(offset), buffer).ok()) {
        std::fprintf(stderr, "read failed at %llu\n", static_cast<unsigned long long>(offset));
        return 1;
      }
    }
    const double fill_s = Seconds(fill_start);
    const long rss_full = ResidentKiB();
    const wtcachefs::EngineStats stats = engine.value()->stats();
    file.value().reset();
    auto close_start = Clock::now();
    if (!engine.value()->Close().ok()) return 1;
    const double close_s = Seconds(close_start);
    std::printf("blocks cached            %llu of %llu\n",
                static_cast<unsigned long long>(stats.used_blocks),
                static_cast<unsigned long long>(stats.total_blocks));
    std::printf("fill time                %.1f s\n", fill_s);
    std::printf("RSS empty engine         %ld KiB\n", rss_empty - rss_start);
    std::printf("RSS per cached block     %.1f bytes\n",
                1024.0 * static_cast<double>(rss_full - rss_empty) /
                    static_cast<double>(stats.used_blocks));
    std::printf("clean shutdown           %.2f s\n", close_s);
  }
  const long rss_before_restart = ResidentKiB();
  auto restart_start = Clock::now();
  auto engine = wtcachefs::CacheEngine::Start(config, *io.value());
  if (!engine.ok()) return 1;
  const double restart_s = Seconds(restart_start);
  std::printf("restart (load mappings)  %.2f s for %llu blocks\n", restart_s,
              static_cast<unsigned long long>(engine.value()->stats().used_blocks));
  std::printf("RSS after restart        %ld KiB (%.1f bytes per block)\n",
              ResidentKiB() - rss_before_restart,
              1024.0 * static_cast<double>(ResidentKiB() - rss_before_restart) /
                  static_cast<double>(engine.value()->stats().used_blocks));
  engine.value().reset();
  std::filesystem::remove_all(work);
  return 0;
}
