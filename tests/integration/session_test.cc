// SPDX-License-Identifier: Apache-2.0
// Properties of the FUSE session itself: request size and concurrency.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

// Largest WRITE request in a libfuse debug log, whose lines read
// "unique: 14, opcode: WRITE (16), nodeid: 1, insize: 1048656, pid: 42".
size_t LargestWriteRequest(const std::string& log) {
  size_t largest = 0;
  for (size_t at = log.find("opcode: WRITE (16)"); at != std::string::npos;
       at = log.find("opcode: WRITE (16)", at + 1)) {
    const size_t insize = log.find("insize: ", at);
    const size_t line_end = log.find('\n', at);
    if (insize == std::string::npos || insize > line_end) continue;
    largest = std::max(largest, static_cast<size_t>(std::stoul(log.substr(insize + 8))));
  }
  return largest;
}

TEST(Session, LargeWritesArriveAsOneMebibyteRequests) {
  MountedView mount({"-d"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string data(4 << 20, 'w');
  const int fd = ::open(mount.ViewPath("big").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(ReadFile(mount.OriginPath("big")), data);
  const size_t largest = LargestWriteRequest(mount.DaemonLog());
  // insize counts the request headers too: the payload is exactly 1 MiB.
  EXPECT_GE(largest, size_t{1} << 20);
  EXPECT_LT(largest, (size_t{1} << 20) + 4096);
}

TEST(Session, ServesRequestsOnSeveralThreads) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  for (int i = 0; i < 8; ++i) {
    WriteFile(mount.OriginPath("f" + std::to_string(i)), std::string(1 << 20, 'r'));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&, i] {
      std::vector<char> buffer(1 << 20);
      while (!stop) {
        const int fd = ::open(mount.ViewPath("f" + std::to_string(i)).c_str(),
                              O_RDONLY | O_DIRECT);
        if (fd < 0) return;
        while (::read(fd, buffer.data(), buffer.size()) > 0) {
        }
        ::close(fd);
      }
    });
  }
  size_t most_threads = 0;
  for (int sample = 0; sample < 100 && most_threads < 3; ++sample) {
    const std::string tasks = "/proc/" + std::to_string(mount.daemon_pid()) + "/task";
    size_t count = 0;
    if (DIR* dir = ::opendir(tasks.c_str())) {
      while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
      ::closedir(dir);
    }
    most_threads = std::max(most_threads, count);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_GE(most_threads, 3u) << "the daemon served concurrent readers on one thread";
}

}  // namespace
}  // namespace wtcachefs::testing
