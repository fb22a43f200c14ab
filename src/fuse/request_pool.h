// SPDX-License-Identifier: Apache-2.0
// RequestPool: threads that serve FUSE requests handed over by the threads
// that receive them. Under FUSE over io_uring, libfuse receives every request
// on one ring thread per CPU; a handler that waited there for an origin taking
// milliseconds would stall every other request of that CPU's queue (DESIGN
// 2b). The ring thread posts such a request here and goes back to its queue;
// a pool thread runs the handler, which replies. Threads are started as
// requests find none idle, up to a bound, and stay.
//
// Thread safety: Post() may be called from any thread, Stop() once, from the
// thread that owns the pool, after the request source has stopped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wtcachefs {

class RequestPool {
 public:
  using Task = std::function<void()>;

  // At most `max_threads` threads (at least one).
  explicit RequestPool(unsigned max_threads) : max_threads_(max_threads > 0 ? max_threads : 1) {}
  ~RequestPool() { Stop(); }
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;

  // Queues `task` for a pool thread, starting one when none is idle and the
  // bound allows. The queue is bounded by its callers: the kernel has at most
  // the ring's depth of requests out at once. After Stop(), runs `task` on the
  // calling thread, so that every request still gets its one reply.
  void Post(Task task);
  // Runs the queued tasks, then joins the threads.
  void Stop();
  // Threads started so far.
  size_t threads() const;

 private:
  void Serve();

  const unsigned max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> queue_;  // GUARDED_BY(mutex_)
  unsigned idle_ = 0;       // threads waiting for a task; GUARDED_BY(mutex_)
  bool stopping_ = false;   // GUARDED_BY(mutex_)
  std::vector<std::thread> threads_;  // GUARDED_BY(mutex_) until Stop()
};

}  // namespace wtcachefs
