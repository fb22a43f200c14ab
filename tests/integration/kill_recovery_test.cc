// SPDX-License-Identifier: Apache-2.0
// DESIGN W4 on a real mount: the daemon is killed with SIGKILL while several
// threads write, read and fsync through the view; after a remount, every file
// read through the view equals origin byte for byte. Fifty kill points a run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr int kFiles = 4;
constexpr size_t kFileSize = 1 << 20;
constexpr int kKillPoints = 50;

// Reads a file through the view past the page cache.
std::string ReadThroughEngine(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0) return "open failed";
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, 4 * kFileSize) != 0) return "no memory";
  std::string content;
  ssize_t n;
  while ((n = ::pread(fd, buffer, 4 * kFileSize, static_cast<off_t>(content.size()))) > 0) {
    content.append(static_cast<char*>(buffer), static_cast<size_t>(n));
  }
  std::free(buffer);
  ::close(fd);
  return n < 0 ? "read failed" : content;
}

// The cache's size: 64 MiB holds all the data; 2 MiB (32 blocks for 4 MiB of
// files) evicts all the time, so kills also land in evictions and their commits.
class KillRecovery : public ::testing::TestWithParam<const char*> {};

TEST_P(KillRecovery, ViewEqualsOriginAfterSigkillAtFiftyRandomPoints) {
  MountedView mount({"-o", std::string("cache_size=") + GetParam(), "--sequential-cutoff", "0"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  for (int f = 0; f < kFiles; ++f) {
    WriteFile(mount.OriginPath("f" + std::to_string(f)), std::string(kFileSize, '.'));
  }
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int point = 0; point < kKillPoints; ++point) {
    SCOPED_TRACE("kill point " + std::to_string(point));
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&, t, worker_seed = static_cast<unsigned>(rng())] {
        std::mt19937 local(worker_seed);
        const std::string path = mount.ViewPath("f" + std::to_string(t % kFiles));
        const int fd = ::open(path.c_str(), O_RDWR);
        if (fd < 0) return;
        std::string buffer;
        while (!stop) {
          const off_t offset = static_cast<off_t>(local() % kFileSize);
          const size_t length = 1 + local() % (128 * 1024);
          const int op = static_cast<int>(local() % 10);
          bool ok = true;
          if (op < 6) {
            buffer.assign(length, static_cast<char>('a' + local() % 26));
            ok = ::pwrite(fd, buffer.data(), length, offset) >= 0;
          } else if (op < 9) {
            buffer.resize(length);
            ok = ::pread(fd, buffer.data(), length, offset) >= 0;
          } else {
            ok = ::fsync(fd) == 0;
          }
          if (!ok) break;  // the daemon is gone
        }
        ::close(fd);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ASSERT_EQ(::kill(mount.daemon_pid(), SIGKILL), 0);
    stop = true;
    for (std::thread& w : workers) w.join();
    mount.Unmount();  // the connection is dead; this clears the mount point
    ASSERT_TRUE(mount.Remount()) << mount.failure();
    for (int f = 0; f < kFiles; ++f) {
      const std::string name = "f" + std::to_string(f);
      const std::string origin = ReadFile(mount.OriginPath(name));
      ASSERT_EQ(ReadThroughEngine(mount.ViewPath(name)), origin) << name;
      ASSERT_EQ(ReadThroughEngine(mount.ViewPath(name)), origin) << name << ", second read";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CacheSizes, KillRecovery, ::testing::Values("64M", "2M"),
                         [](const ::testing::TestParamInfo<const char*>& size) {
                           return std::string(size.param[0] == '6' ? "Roomy" : "Evicting");
                         });

}  // namespace
}  // namespace wtcachefs::testing
