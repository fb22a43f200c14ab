// SPDX-License-Identifier: Apache-2.0
// FaultInjectingBackend: wraps the real io_uring backend for tests. It records
// every batch, can fail chosen requests with an errno instead of doing them, and
// can hold a batch's completion (the IO is done, the caller is not told) until
// the test releases it, to force interleavings without timing.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "wtcachefs/io_backend.h"

namespace wtcachefs::testing {

struct SeenRequest {
  IoRequest::Op op;
  int fd;
  off_t offset;
  size_t length;
};

class FaultInjectingBackend final : public IoBackend {
 public:
  using Match = std::function<bool(const IoRequest&)>;

  explicit FaultInjectingBackend(IoBackend& real) : real_(real) {}

  Status Submit(std::span<IoRequest> requests) override;
  int Truncate(int fd, off_t size) override;
  int Allocate(int fd, int mode, off_t offset, off_t length) override;
  int64_t CopyRange(int from_fd, off_t from, int to_fd, off_t to, size_t length,
                    unsigned flags) override;
  int Stat(int fd, struct stat* st) override;

  // The origin calls other than reads, writes and syncs.
  enum class OriginCall { kTruncate, kAllocate, kCopyRange, kStat };
  // Calls of `call` on `fd` (the target, for a copy) fail with `error` and are
  // not performed, until ClearFaults().
  void FailOriginCall(OriginCall call, int fd, int error);

  // Every Stat() runs `during` before it stats, until ClearFaults(): a test
  // advances its ManualClock there to make origin's stats slow.
  void RunDuringStats(std::function<void()> during);

  // Requests matching `match` fail with -error and are not performed.
  void FailWhen(Match match, int error);
  // The next batch holding a request matching `match` is performed, then its
  // completion is withheld until Release(). Only one hold at a time.
  void HoldCompletionWhen(Match match);
  // Blocks until a held batch is waiting; returns false after 10 s.
  bool WaitUntilHeld();
  void Release();
  void ClearFaults();

  std::vector<std::vector<SeenRequest>> batches() const;
  void ClearHistory();

 private:
  IoBackend& real_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<SeenRequest>> batches_;  // GUARDED_BY(mutex_)
  Match fail_match_;                               // GUARDED_BY(mutex_)
  int fail_error_ = 0;                             // GUARDED_BY(mutex_)
  Match hold_match_;                               // GUARDED_BY(mutex_)
  bool holding_ = false;                           // GUARDED_BY(mutex_)
  bool released_ = false;                          // GUARDED_BY(mutex_)
  struct OriginFault {
    OriginCall call;
    int fd;
    int error;
  };
  std::vector<OriginFault> origin_faults_;  // GUARDED_BY(mutex_)
  std::function<void()> during_stats_;      // GUARDED_BY(mutex_)
  // The error injected into `call` on `fd`, or 0.
  int OriginFaultOf(OriginCall call, int fd) const;
};

// Matchers.
FaultInjectingBackend::Match WritesTo(int fd);
FaultInjectingBackend::Match ReadsFrom(int fd);

}  // namespace wtcachefs::testing
