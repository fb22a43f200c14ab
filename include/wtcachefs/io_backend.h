// SPDX-License-Identifier: Apache-2.0
// IoBackend: how the engine does file IO. A batch of requests is submitted
// together (with io_uring: one submission) and the call returns once every request
// in it has completed. This is what lets a writethrough write reach origin and
// cache in parallel and be acknowledged only after both (DESIGN W1).
//
// Contract:
//  - Every request in a batch is submitted before any completion is awaited.
//  - A short transfer is resubmitted for the remainder until it completes, reaches
//    EOF (reads) or fails; `result` is the total transferred or -errno.
//  - A failure of one request does not cancel the others in the batch.
//
// Thread safety: Submit() may be called from any number of threads at once.
// Requests and buffers belong to the caller and must outlive the call.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "wtcachefs/status.h"

namespace wtcachefs {

struct IoRequest {
  enum class Op { kRead, kWrite, kFsync, kFdatasync };

  static IoRequest Read(int fd, off_t offset, std::span<char> buffer) {
    return IoRequest{Op::kRead, fd, offset, buffer.data(), buffer.size()};
  }
  static IoRequest Write(int fd, off_t offset, std::span<const char> data) {
    return IoRequest{Op::kWrite, fd, offset, const_cast<char*>(data.data()), data.size()};
  }
  static IoRequest Sync(int fd, bool data_only) {
    return IoRequest{data_only ? Op::kFdatasync : Op::kFsync, fd, 0, nullptr, 0};
  }

  Op op;
  int fd;
  off_t offset;
  char* buffer;   // read into / write from; null for syncs
  size_t length;
  // Filled by Submit(): bytes transferred (0 for a sync) or -errno.
  int64_t result = 0;
  // A read expected to be served from the page cache (a few bytes of cache
  // metadata read with every hit): the backend may do it with a plain system
  // call before submitting the rest, rather than add it to a ring submission
  // that a worker thread would then serve. Completion is unchanged: Submit()
  // still returns after every request.
  bool from_memory = false;
  // A read that must not wait for a device (with from_memory): done as a plain
  // call that fails with -EAGAIN, rather than wait, unless all of its bytes
  // are in the page cache (RWF_NOWAIT); also -EAGAIN on a file system that
  // cannot read without the chance of waiting.
  bool memory_only = false;
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  // Submits all `requests` at once and waits for all of them. Returns non-OK only
  // when the backend itself failed (no ring); per-request errors are in `result`.
  virtual Status Submit(std::span<IoRequest> requests) = 0;
  // Submits all `requests` at once (the same contract as Submit()) and returns
  // without waiting for them: `done` runs once every request has completed,
  // with its `result` filled, on the backend's completion thread, or on the
  // calling thread before SubmitAsync() returns for a backend that completes
  // at once (this default). The requests and their buffers must stay alive
  // until `done` has run, and so must the submitting thread: the kernel
  // cancels the IO of a thread that exits (-ECANCELED). Non-OK when nothing
  // was submitted: `done` then never runs. `done` must not wait for other IO
  // of this backend.
  virtual Status SubmitAsync(std::span<IoRequest> requests, std::function<void()> done) {
    if (Status s = Submit(requests); !s.ok()) return s;
    done();
    return Status::Ok();
  }

  // The origin calls that are neither reads, writes nor syncs, here so that
  // faults can be injected into them as into the rest (a test backend
  // overrides them); by default the system calls, made on the calling thread.
  // Each returns 0 or an errno.
  virtual int Truncate(int fd, off_t size);
  virtual int Allocate(int fd, int mode, off_t offset, off_t length);
  // copy_file_range(2) from `from_fd` at `from` to `to_fd` at `to`: the bytes
  // copied, or -errno.
  virtual int64_t CopyRange(int from_fd, off_t from, int to_fd, off_t to, size_t length,
                            unsigned flags);
  // StatOrigin() (wtcachefs/origin_stat.h): origin's fresh attributes of `fd`.
  virtual int Stat(int fd, struct stat* st);
};

// io_uring backend: one ring per calling thread for Submit(), created on first
// use, and one ring shared by every SubmitAsync() caller, whose completions a
// thread of the backend's reaps (started on first use, stopped with the
// backend, which must outlive every batch submitted).
// Fails with a clear Status when io_uring is unavailable (kernel, seccomp).
Result<std::unique_ptr<IoBackend>> MakeUringBackend(unsigned queue_depth = 64);

}  // namespace wtcachefs
