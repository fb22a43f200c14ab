// SPDX-License-Identifier: Apache-2.0
// UringBackend: IoBackend on io_uring. Submit() uses one ring per thread (a
// ring has one owner); a batch of one request is done with a plain system call
// instead: it has nothing to run in parallel with, and io_uring would hand a
// read of data not in memory to a worker thread, a wake-up more on every
// cache-hit read. SubmitAsync() uses a ring per CPU, which the callers running
// on that CPU submit to under a mutex and one thread reaps (AsyncRing).
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "wtcachefs/io_backend.h"

namespace wtcachefs {
namespace {

// Counts forks, so that a ring can tell it was inherited without a getpid()
// system call on every submission.
std::atomic<uint64_t> fork_generation{0};

void CountForksOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
  });
}

// A ring owned by one thread of one process. Destroyed when the thread exits.
// A forked child inherits the parent's ring mappings, which it must never use:
// both processes would consume the same queues.
class ThreadRing {
 public:
  explicit ThreadRing(unsigned depth) : generation_(fork_generation.load()) {
    init_error_ = -io_uring_queue_init(depth, &ring_, 0);
    depth_ = depth;
  }
  ~ThreadRing() {
    // In a forked child this only unmaps and closes the child's copies.
    if (init_error_ == 0) io_uring_queue_exit(&ring_);
  }
  bool owned_by_this_process() const { return generation_ == fork_generation.load(); }
  ThreadRing(const ThreadRing&) = delete;
  ThreadRing& operator=(const ThreadRing&) = delete;

  int init_error() const { return init_error_; }
  unsigned depth() const { return depth_; }
  io_uring* get() { return &ring_; }

 private:
  io_uring ring_{};
  uint64_t generation_;
  int init_error_ = 0;
  unsigned depth_ = 0;
};

// Progress of one request across resubmissions.
struct Pending {
  IoRequest* request;
  size_t done = 0;
  bool finished = false;
};

void Prepare(io_uring_sqe* sqe, const Pending& p, uint64_t tag) {
  const IoRequest& r = *p.request;
  switch (r.op) {
    case IoRequest::Op::kRead:
      io_uring_prep_read(sqe, r.fd, r.buffer + p.done, static_cast<unsigned>(r.length - p.done),
                         static_cast<uint64_t>(r.offset) + p.done);
      break;
    case IoRequest::Op::kWrite:
      io_uring_prep_write(sqe, r.fd, r.buffer + p.done,
                          static_cast<unsigned>(r.length - p.done),
                          static_cast<uint64_t>(r.offset) + p.done);
      break;
    case IoRequest::Op::kFsync:
      io_uring_prep_fsync(sqe, r.fd, 0);
      break;
    case IoRequest::Op::kFdatasync:
      io_uring_prep_fsync(sqe, r.fd, IORING_FSYNC_DATASYNC);
      break;
  }
  io_uring_sqe_set_data64(sqe, tag);
}

// Applies one completion; returns true when the request needs resubmitting.
bool Complete(Pending& p, int res) {
  IoRequest& r = *p.request;
  if (res == -EINTR || res == -EAGAIN) return true;
  if (res < 0) {
    r.result = res;
    p.finished = true;
    return false;
  }
  if (r.op == IoRequest::Op::kFsync || r.op == IoRequest::Op::kFdatasync) {
    r.result = 0;
    p.finished = true;
    return false;
  }
  p.done += static_cast<size_t>(res);
  const bool eof = r.op == IoRequest::Op::kRead && res == 0;
  if (p.done >= r.length || eof) {
    r.result = static_cast<int64_t>(p.done);
    p.finished = true;
    return false;
  }
  if (res == 0) {  // a write that makes no progress would spin forever
    r.result = p.done > 0 ? static_cast<int64_t>(p.done) : -EIO;
    p.finished = true;
    return false;
  }
  return true;
}

// The same contract as a ring round (resubmitting short transfers) for one request.
// Offset -1 means the file position, as for io_uring (pipes, sockets).
void RunAlone(IoRequest& r) {
  constexpr off_t kAtFilePosition = -1;
  constexpr size_t kMaxTransfer = size_t{1} << 30;  // a result must fit an int
  Pending p{&r};
  for (;;) {
    const size_t chunk = std::min(r.length - p.done, kMaxTransfer);
    ssize_t res = 0;
    switch (r.op) {
      case IoRequest::Op::kRead:
        if (r.memory_only) {
          iovec part{r.buffer + p.done, chunk};
          res = ::preadv2(r.fd, &part, 1, r.offset + static_cast<off_t>(p.done), RWF_NOWAIT);
          // Not all in memory, or a file system that cannot tell without
          // waiting (tmpfs refuses RWF_NOWAIT with EOPNOTSUPP): either way
          // the caller reads it otherwise.
          if (res < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
            r.result = -EAGAIN;
            return;
          }
          break;
        }
        res = r.offset == kAtFilePosition
                  ? ::read(r.fd, r.buffer + p.done, chunk)
                  : ::pread(r.fd, r.buffer + p.done, chunk,
                            static_cast<off_t>(r.offset + static_cast<off_t>(p.done)));
        break;
      case IoRequest::Op::kWrite:
        res = r.offset == kAtFilePosition
                  ? ::write(r.fd, r.buffer + p.done, chunk)
                  : ::pwrite(r.fd, r.buffer + p.done, chunk,
                             static_cast<off_t>(r.offset + static_cast<off_t>(p.done)));
        break;
      case IoRequest::Op::kFsync:
        res = ::fsync(r.fd);
        break;
      case IoRequest::Op::kFdatasync:
        res = ::fdatasync(r.fd);
        break;
    }
    if (!Complete(p, res < 0 ? -errno : static_cast<int>(res))) return;
  }
}

// A batch of SubmitAsync(): its requests' progress, and what runs once the
// last of them has completed.
struct AsyncBatch;
struct AsyncPending {
  Pending pending;
  AsyncBatch* batch;
};
struct AsyncBatch {
  std::vector<AsyncPending> requests;
  std::function<void()> done;
  std::atomic<size_t> unfinished{0};
};

// The ring of SubmitAsync(). Submissions take submit_mutex_ (the submission
// queue has one owner at a time); the reaper thread alone consumes
// completions, and its wait for them submits nothing, so it never touches the
// submission queue. It resubmits short transfers and runs each batch's `done`.
class AsyncRing {
 public:
  AsyncRing() {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCompletionEntries;
    init_error_ = -io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
    if (init_error_ == 0) {
      reaper_ = std::thread([this] { Reap(); });
      ::pthread_setname_np(reaper_.native_handle(), "wtcachefs-io");
    }
  }
  ~AsyncRing() {
    if (init_error_ != 0) return;
    {
      std::lock_guard lock(submit_mutex_);
      stopping_ = true;
      // A completion tagged 0 wakes the reaper to see stopping_.
      for (;;) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe != nullptr) {
          io_uring_prep_nop(sqe);
          io_uring_sqe_set_data64(sqe, 0);
          break;
        }
        io_uring_submit(&ring_);
      }
      while (io_uring_submit(&ring_) == -EINTR) {
      }
    }
    reaper_.join();
    io_uring_queue_exit(&ring_);
  }
  AsyncRing(const AsyncRing&) = delete;
  AsyncRing& operator=(const AsyncRing&) = delete;

  int init_error() const { return init_error_; }

  // Takes `batch` (whose requests are all to be submitted); it is freed once
  // its `done` has run.
  void Submit(AsyncBatch* batch) {
    batch->unfinished = batch->requests.size();
    std::vector<AsyncPending*> unqueued;
    {
      std::lock_guard lock(submit_mutex_);
      for (AsyncPending& request : batch->requests) {
        if (!QueueLocked(request)) unqueued.push_back(&request);
      }
      FlushLocked();
    }
    // Outside the lock: the last of them runs `done`, which may submit.
    for (AsyncPending* request : unqueued) Fail(*request, -EIO);
  }

 private:
  static constexpr unsigned kSubmissionEntries = 256;
  static constexpr unsigned kCompletionEntries = 4096;

  // Queues `request`; false when no room can be made for it.
  bool QueueLocked(AsyncPending& request) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      FlushLocked();
      sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) return false;
    }
    Prepare(sqe, request.pending, reinterpret_cast<uint64_t>(&request));
    return true;
  }
  void FlushLocked() {
    int rc;
    do {
      rc = io_uring_submit(&ring_);
    } while (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
  }
  // Ends `request` with `error`; the batch's `done` runs when it was the last.
  void Fail(AsyncPending& request, int error) {
    request.pending.request->result = error;
    request.pending.finished = true;
    Finished(request.batch);
  }
  static void Finished(AsyncBatch* batch) {
    if (batch->unfinished.fetch_sub(1) != 1) return;
    batch->done();
    delete batch;
  }

  void Reap() {
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      const int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc < 0) continue;  // -EINTR; nothing else is expected of a wait
      const uint64_t tag = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (tag == 0) {
        std::lock_guard lock(submit_mutex_);
        if (stopping_) return;
        continue;
      }
      auto* request = reinterpret_cast<AsyncPending*>(tag);
      if (Complete(request->pending, res)) {
        std::lock_guard lock(submit_mutex_);
        if (QueueLocked(*request)) {
          FlushLocked();
          continue;
        }
        request->pending.request->result = -EIO;
      }
      Finished(request->batch);
    }
  }

  io_uring ring_{};
  int init_error_ = 0;
  std::mutex submit_mutex_;
  bool stopping_ = false;  // GUARDED_BY(submit_mutex_)
  std::thread reaper_;
};

class UringBackend final : public IoBackend {
 public:
  explicit UringBackend(unsigned depth) : depth_(depth) { CountForksOnce(); }

  Status SubmitAsync(std::span<IoRequest> requests, std::function<void()> done) override {
    auto batch = std::make_unique<AsyncBatch>();
    for (IoRequest& r : requests) {
      if (r.from_memory) {
        RunAlone(r);  // from the page cache: no wait worth a ring request
      } else {
        batch->requests.push_back(AsyncPending{Pending{&r}, batch.get()});
      }
    }
    if (batch->requests.empty()) {
      done();
      return Status::Ok();
    }
    std::call_once(async_rings_once_, [this] {
      // One ring and reaper per CPU: completions (checksums, copies) are
      // worked on where they were submitted, on every CPU at once.
      const unsigned cpus = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
      for (unsigned i = 0; i < cpus; ++i) async_rings_.push_back(std::make_unique<AsyncRing>());
    });
    const int cpu = ::sched_getcpu();
    AsyncRing& ring = *async_rings_[static_cast<size_t>(cpu < 0 ? 0 : cpu) % async_rings_.size()];
    if (const int error = ring.init_error()) {
      return Status::Error(error, std::string("io_uring unavailable: ") + std::strerror(error));
    }
    batch->done = std::move(done);
    ring.Submit(batch.release());
    return Status::Ok();
  }

  Status Submit(std::span<IoRequest> requests) override {
    const auto in_memory = [](const IoRequest& r) { return r.from_memory; };
    if (requests.size() > 1 && std::any_of(requests.begin(), requests.end(), in_memory)) {
      // Reads from memory first, each a plain call; then the rest as a batch
      // of its own (one request alone is a plain call too).
      std::vector<IoRequest> rest;
      for (IoRequest& r : requests) {
        if (r.from_memory) {
          RunAlone(r);
        } else {
          rest.push_back(r);
          rest.back().from_memory = false;
        }
      }
      Status s = rest.empty() ? Status::Ok() : Submit(rest);
      size_t next = 0;
      for (IoRequest& r : requests) {
        if (!r.from_memory) r.result = s.ok() ? rest[next++].result : -s.error();
      }
      return s;
    }
    if (requests.size() == 1) {
      RunAlone(requests[0]);
      return Status::Ok();
    }
    thread_local std::unique_ptr<ThreadRing> ring;
    if (!ring || ring->depth() != depth_ || !ring->owned_by_this_process()) {
      ring = std::make_unique<ThreadRing>(depth_);
    }
    if (ring->init_error() != 0) {
      return Status::Error(ring->init_error(), std::string("io_uring unavailable: ") +
                                                   std::strerror(ring->init_error()));
    }
    std::vector<Pending> pending;
    pending.reserve(requests.size());
    for (IoRequest& r : requests) pending.push_back(Pending{&r});
    std::vector<size_t> to_submit(requests.size());
    for (size_t i = 0; i < to_submit.size(); ++i) to_submit[i] = i;

    while (!to_submit.empty()) {
      // All of a round goes into one submission (in chunks only past queue depth).
      size_t in_flight = 0;
      size_t next = 0;
      std::vector<size_t> again;
      while (next < to_submit.size() || in_flight > 0) {
        while (next < to_submit.size()) {
          io_uring_sqe* sqe = io_uring_get_sqe(ring->get());
          if (sqe == nullptr) break;
          Prepare(sqe, pending[to_submit[next]], to_submit[next]);
          ++next;
          ++in_flight;
        }
        const int submitted = io_uring_submit_and_wait(ring->get(), static_cast<unsigned>(in_flight));
        if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN) {
          return Status::Error(-submitted, std::string("io_uring submit failed: ") +
                                               std::strerror(-submitted));
        }
        io_uring_cqe* cqe;
        while (in_flight > 0 && io_uring_peek_cqe(ring->get(), &cqe) == 0) {
          const uint64_t tag = io_uring_cqe_get_data64(cqe);
          const int res = cqe->res;
          io_uring_cqe_seen(ring->get(), cqe);
          --in_flight;
          if (Complete(pending[tag], res)) again.push_back(tag);
        }
      }
      to_submit = std::move(again);
    }
    return Status::Ok();
  }

 private:
  const unsigned depth_;
  std::once_flag async_rings_once_;
  std::vector<std::unique_ptr<AsyncRing>> async_rings_;  // immutable once made
};

}  // namespace

Result<std::unique_ptr<IoBackend>> MakeUringBackend(unsigned queue_depth) {
  io_uring probe_ring;
  const int rc = io_uring_queue_init(2, &probe_ring, 0);
  if (rc < 0) {
    return Status::Error(-rc, std::string("io_uring is not available on this system (") +
                                  std::strerror(-rc) +
                                  "): wtcachefs needs Linux 5.6+ with io_uring enabled");
  }
  io_uring_queue_exit(&probe_ring);
  return std::unique_ptr<IoBackend>(new UringBackend(queue_depth));
}

}  // namespace wtcachefs
