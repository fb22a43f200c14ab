// SPDX-License-Identifier: Apache-2.0
// The io_uring backend: batches complete fully, errors stay per request, short
// transfers are finished, and every thread can submit at once; asynchronous
// batches complete once each, on the backend's thread, under the same rules.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "wtcachefs/io_backend.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {
namespace {

using testing::ReadFile;
using testing::TempDir;

class UringBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = MakeUringBackend(8);
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    backend_ = std::move(backend).value();
  }
  UniqueFd OpenRw(const std::string& name) {
    return UniqueFd(::open(dir_.Sub(name, false).c_str(), O_RDWR | O_CREAT, 0600));
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> backend_;
};

TEST_F(UringBackendTest, WritesToTwoFilesInOneBatchBothLand) {
  UniqueFd a = OpenRw("a"), b = OpenRw("b");
  const std::string data_a = "origin bytes", data_b = "cache bytes";
  std::vector<IoRequest> batch = {IoRequest::Write(a.get(), 0, data_a),
                                  IoRequest::Write(b.get(), 4096, data_b)};
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, static_cast<int64_t>(data_a.size()));
  EXPECT_EQ(batch[1].result, static_cast<int64_t>(data_b.size()));
  EXPECT_EQ(ReadFile(dir_.Sub("a", false)), data_a);
  EXPECT_EQ(ReadFile(dir_.Sub("b", false)).substr(4096), data_b);
}

TEST_F(UringBackendTest, ReadPastEndOfFileReturnsTheBytesThatExist) {
  UniqueFd a = OpenRw("a");
  ASSERT_EQ(::pwrite(a.get(), "0123456789", 10, 0), 10);
  std::vector<char> buffer(100);
  std::vector<IoRequest> batch = {IoRequest::Read(a.get(), 4, buffer)};
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, 6);
  EXPECT_EQ(std::string(buffer.data(), 6), "456789");
}

TEST_F(UringBackendTest, OneFailingRequestDoesNotFailTheOthers) {
  UniqueFd good = OpenRw("good");
  UniqueFd read_only(::open(dir_.Sub("good", false).c_str(), O_RDONLY));
  const std::string data = "payload";
  std::vector<IoRequest> batch = {IoRequest::Write(read_only.get(), 0, data),
                                  IoRequest::Write(good.get(), 0, data),
                                  IoRequest::Sync(good.get(), true)};
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, -EBADF);
  EXPECT_EQ(batch[1].result, static_cast<int64_t>(data.size()));
  EXPECT_EQ(batch[2].result, 0);
}

// Reads marked from_memory are done with plain calls, the rest as a batch; each
// request still gets its own result, in its own place.
TEST_F(UringBackendTest, ReadsFromMemoryAndTheRestOfTheBatchEachGetTheirResult) {
  UniqueFd a = OpenRw("a");
  UniqueFd b = OpenRw("b");
  ASSERT_EQ(::pwrite(a.get(), "aaaaaaaa", 8, 0), 8);
  ASSERT_EQ(::pwrite(b.get(), "bbbb", 4, 0), 4);
  std::vector<char> from_a(8), from_b(8), past_end(8);
  const std::string data = "written";
  std::vector<IoRequest> batch = {IoRequest::Read(a.get(), 0, from_a),
                                  IoRequest::Read(b.get(), 0, from_b),
                                  IoRequest::Write(a.get(), 100, data),
                                  IoRequest::Read(b.get(), 50, past_end),
                                  IoRequest::Read(-1, 0, past_end)};
  batch[1].from_memory = true;
  batch[4].from_memory = true;
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, 8);
  EXPECT_EQ(batch[1].result, 4);
  EXPECT_EQ(std::string(from_b.data(), 4), "bbbb");
  EXPECT_EQ(batch[2].result, static_cast<int64_t>(data.size()));
  EXPECT_EQ(batch[3].result, 0);
  EXPECT_EQ(batch[4].result, -EBADF);
  EXPECT_EQ(std::string(from_a.data(), 8), "aaaaaaaa");
}

TEST_F(UringBackendTest, BatchLargerThanTheQueueDepthCompletes) {
  UniqueFd a = OpenRw("a");
  std::vector<std::string> chunks;
  std::vector<IoRequest> batch;
  for (int i = 0; i < 50; ++i) chunks.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  for (int i = 0; i < 50; ++i) batch.push_back(IoRequest::Write(a.get(), i * 100, chunks[i]));
  ASSERT_TRUE(backend_->Submit(batch).ok());
  for (const IoRequest& r : batch) EXPECT_EQ(r.result, 100);
  const std::string content = ReadFile(dir_.Sub("a", false));
  ASSERT_EQ(content.size(), 5000u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(content.substr(i * 100, 100), chunks[i]);
}

// A pipe delivers what has arrived so far: the first completion is short.
// `alongside`: another request in the batch, so that the ring serves it rather
// than the one-request path.
void ExpectShortReadsFinished(IoBackend& backend, bool alongside) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::thread writer([&] {
    for (const char* part : {"abc", "defg", "hij"}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ASSERT_EQ(::write(write_end.get(), part, std::strlen(part)),
                static_cast<ssize_t>(std::strlen(part)));
    }
  });
  std::vector<char> buffer(10);
  std::vector<IoRequest> batch = {IoRequest::Read(read_end.get(), -1, buffer)};
  if (alongside) batch.push_back(IoRequest::Sync(read_end.get(), true));
  const Status status = backend.Submit(batch);
  writer.join();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(batch[0].result, 10);
  EXPECT_EQ(std::string(buffer.data(), 10), "abcdefghij");
}

TEST_F(UringBackendTest, ShortReadsAreResubmittedUntilComplete) {
  ExpectShortReadsFinished(*backend_, /*alongside=*/false);
}

TEST_F(UringBackendTest, ShortReadsInABatchAreResubmittedUntilComplete) {
  ExpectShortReadsFinished(*backend_, /*alongside=*/true);
}

TEST_F(UringBackendTest, ARequestAloneReportsItsErrorAndItsBytes) {
  UniqueFd file = OpenRw("file");
  UniqueFd read_only(::open(dir_.Sub("file", false).c_str(), O_RDONLY));
  const std::string data = "payload";
  std::vector<IoRequest> refused = {IoRequest::Write(read_only.get(), 0, data)};
  ASSERT_TRUE(backend_->Submit(refused).ok());
  EXPECT_EQ(refused[0].result, -EBADF);

  std::vector<IoRequest> written = {IoRequest::Write(file.get(), 8192, data)};
  ASSERT_TRUE(backend_->Submit(written).ok());
  EXPECT_EQ(written[0].result, static_cast<int64_t>(data.size()));
  std::vector<char> buffer(100);
  std::vector<IoRequest> read = {IoRequest::Read(file.get(), 8190, buffer)};
  ASSERT_TRUE(backend_->Submit(read).ok());
  EXPECT_EQ(read[0].result, 2 + static_cast<int64_t>(data.size()));
  EXPECT_EQ(std::string(buffer.data() + 2, data.size()), data);
  std::vector<IoRequest> synced = {IoRequest::Sync(file.get(), false)};
  ASSERT_TRUE(backend_->Submit(synced).ok());
  EXPECT_EQ(synced[0].result, 0);
}

TEST_F(UringBackendTest, ManyThreadsSubmitConcurrentlyEachOnItsOwnRing) {
  constexpr int kThreads = 8;
  std::vector<UniqueFd> files;
  for (int t = 0; t < kThreads; ++t) files.push_back(OpenRw("t" + std::to_string(t)));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string data(4096, static_cast<char>('A' + t));
      for (int i = 0; i < 200; ++i) {
        std::vector<IoRequest> batch = {IoRequest::Write(files[t].get(), i * 4096, data)};
        ASSERT_TRUE(backend_->Submit(batch).ok());
        ASSERT_EQ(batch[0].result, 4096);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ReadFile(dir_.Sub("t" + std::to_string(t), false)),
              std::string(200 * 4096, static_cast<char>('A' + t)));
  }
}

TEST_F(UringBackendTest, AMemoryOnlyReadFailsWithEagainUnlessItsBytesAreInThePageCache) {
  UniqueFd a = OpenRw("a");
  const std::string data(64 * 1024, 'm');
  ASSERT_EQ(::pwrite(a.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fdatasync(a.get()), 0);
  ASSERT_EQ(::posix_fadvise(a.get(), 0, 0, POSIX_FADV_DONTNEED), 0);  // clean: dropped
  std::vector<char> buffer(data.size());
  std::vector<IoRequest> batch = {IoRequest::Read(a.get(), 0, buffer)};
  batch[0].from_memory = batch[0].memory_only = true;
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, -EAGAIN) << "it read from the device";
  std::vector<IoRequest> fill = {IoRequest::Read(a.get(), 0, buffer)};
  ASSERT_TRUE(backend_->Submit(fill).ok());
  ASSERT_EQ(fill[0].result, static_cast<int64_t>(data.size()));
  batch[0].result = 0;
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_EQ(batch[0].result, static_cast<int64_t>(data.size()));
}

// tmpfs refuses RWF_NOWAIT (EOPNOTSUPP) on some kernels: a memory-only read
// must still say only "read it otherwise", never fail as a device error would.
TEST_F(UringBackendTest, AMemoryOnlyReadOnTmpfsIsServedOrDeclinedWithEagainNeverAnError) {
  char path[] = "/dev/shm/wtcachefs-memory-only-XXXXXX";
  const int raw = ::mkstemp(path);
  if (raw < 0) GTEST_SKIP() << "no /dev/shm";
  UniqueFd file(raw);
  ::unlink(path);
  const std::string data(64 * 1024, 't');
  ASSERT_EQ(::pwrite(file.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  std::vector<char> buffer(data.size());
  std::vector<IoRequest> batch = {IoRequest::Read(file.get(), 0, buffer)};
  batch[0].from_memory = batch[0].memory_only = true;
  ASSERT_TRUE(backend_->Submit(batch).ok());
  EXPECT_TRUE(batch[0].result == -EAGAIN || batch[0].result == static_cast<int64_t>(data.size()))
      << "result " << batch[0].result;
}

// ---- SubmitAsync: the same contract, completed by the backend's thread ----------

// Waits for one asynchronous batch and says on which thread it completed.
class Completion {
 public:
  std::function<void()> Callback() {
    return [this] {
      std::lock_guard lock(mutex_);
      ++calls_;
      thread_ = std::this_thread::get_id();
      done_.notify_all();
    };
  }
  // False when the batch did not complete within ten seconds.
  bool Wait() {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, std::chrono::seconds(10), [this] { return calls_ > 0; });
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::thread::id thread() {
    std::lock_guard lock(mutex_);
    return thread_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  int calls_ = 0;
  std::thread::id thread_;
};

TEST_F(UringBackendTest, AnAsyncBatchCompletesOnceOnTheBackendsThreadWithEveryResult) {
  UniqueFd a = OpenRw("a"), b = OpenRw("b");
  const std::string data_a = "origin bytes", data_b = "cache bytes";
  std::vector<char> unreadable(16);
  std::vector<IoRequest> batch = {IoRequest::Write(a.get(), 0, data_a),
                                  IoRequest::Write(b.get(), 4096, data_b),
                                  IoRequest::Read(-1, 0, unreadable)};
  Completion completion;
  ASSERT_TRUE(backend_->SubmitAsync(batch, completion.Callback()).ok());
  ASSERT_TRUE(completion.Wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(completion.calls(), 1);
  EXPECT_NE(completion.thread(), std::this_thread::get_id());
  EXPECT_EQ(batch[0].result, static_cast<int64_t>(data_a.size()));
  EXPECT_EQ(batch[1].result, static_cast<int64_t>(data_b.size()));
  EXPECT_EQ(batch[2].result, -EBADF);
  EXPECT_EQ(ReadFile(dir_.Sub("a", false)), data_a);
  EXPECT_EQ(ReadFile(dir_.Sub("b", false)).substr(4096), data_b);
}

TEST_F(UringBackendTest, AnAsyncShortReadIsResubmittedUntilComplete) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<char> buffer(10);
  std::vector<IoRequest> batch = {IoRequest::Read(read_end.get(), -1, buffer)};
  Completion completion;
  ASSERT_TRUE(backend_->SubmitAsync(batch, completion.Callback()).ok());
  for (const char* part : {"abc", "defg", "hij"}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(completion.calls(), 0) << "completed before all ten bytes arrived";
    ASSERT_EQ(::write(write_end.get(), part, std::strlen(part)),
              static_cast<ssize_t>(std::strlen(part)));
  }
  ASSERT_TRUE(completion.Wait());
  EXPECT_EQ(batch[0].result, 10);
  EXPECT_EQ(std::string(buffer.data(), 10), "abcdefghij");
}

TEST_F(UringBackendTest, AnAsyncBatchOfReadsFromMemoryOnlyCompletesBeforeReturning) {
  UniqueFd a = OpenRw("a");
  ASSERT_EQ(::pwrite(a.get(), "0123456789", 10, 0), 10);
  std::vector<char> buffer(4);
  std::vector<IoRequest> batch = {IoRequest::Read(a.get(), 2, buffer)};
  batch[0].from_memory = true;
  Completion completion;
  ASSERT_TRUE(backend_->SubmitAsync(batch, completion.Callback()).ok());
  EXPECT_EQ(completion.calls(), 1);
  EXPECT_EQ(completion.thread(), std::this_thread::get_id());
  EXPECT_EQ(std::string(buffer.data(), 4), "2345");
}

TEST_F(UringBackendTest, ACompletionMaySubmitTheNextAsyncBatch) {
  UniqueFd a = OpenRw("a");
  const std::string first = "first", second = "second";
  std::vector<IoRequest> one = {IoRequest::Write(a.get(), 0, first)};
  std::vector<IoRequest> two = {IoRequest::Write(a.get(), 100, second)};
  Completion completion;
  ASSERT_TRUE(backend_->SubmitAsync(one, [&] {
                ASSERT_TRUE(backend_->SubmitAsync(two, completion.Callback()).ok());
              }).ok());
  ASSERT_TRUE(completion.Wait());
  EXPECT_EQ(one[0].result, 5);
  EXPECT_EQ(two[0].result, 6);
  EXPECT_EQ(ReadFile(dir_.Sub("a", false)).substr(100), second);
}

TEST_F(UringBackendTest, ManyThreadsSubmitAsyncBatchesAtOnceAndEachCompletesOnce) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 300;
  std::vector<UniqueFd> files;
  for (int t = 0; t < kThreads; ++t) files.push_back(OpenRw("t" + std::to_string(t)));
  std::atomic<int> completed{0};
  std::vector<std::atomic<int>> calls(kThreads * kBatches);
  // Every batch: a block into the thread's file and the same into a shared
  // one, as a write reaches origin and cache; more batches than the ring holds.
  std::vector<std::string> data;
  for (int t = 0; t < kThreads; ++t) data.emplace_back(4096, static_cast<char>('A' + t));
  std::vector<std::vector<IoRequest>> batches(kThreads * kBatches);
  UniqueFd shared = OpenRw("shared");
  // The submitting threads live until every batch completed (the kernel
  // cancels the IO of a thread that exits).
  std::atomic<bool> all_completed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        const int n = t * kBatches + i;
        batches[n] = {IoRequest::Write(files[t].get(), i * 4096, data[t]),
                      IoRequest::Write(shared.get(), n * 4096, data[t])};
        ASSERT_TRUE(backend_
                        ->SubmitAsync(batches[n],
                                      [&, n] {
                                        calls[n].fetch_add(1);
                                        completed.fetch_add(1);
                                      })
                        .ok());
      }
      while (!all_completed.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (completed.load() < kThreads * kBatches && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  all_completed = true;
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(completed.load(), kThreads * kBatches);
  for (int n = 0; n < kThreads * kBatches; ++n) {
    ASSERT_EQ(calls[n].load(), 1) << "batch " << n;
    ASSERT_EQ(batches[n][0].result, 4096) << "batch " << n;
    ASSERT_EQ(batches[n][1].result, 4096) << "batch " << n;
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ReadFile(dir_.Sub("t" + std::to_string(t), false)),
              std::string(kBatches * 4096, static_cast<char>('A' + t)));
  }
}

}  // namespace
}  // namespace wtcachefs
