// SPDX-License-Identifier: Apache-2.0
// RequestPool: a fixed set of threads that serve FUSE requests handed over by
// the threads that receive them. Under FUSE over io_uring, libfuse receives
// every request on one ring thread per CPU; a handler that waited there for
// an origin taking milliseconds would stall every other request of that CPU's
// queue (DESIGN 2b). The ring thread posts the request here and goes back to
// its queue; the pool thread runs the handler, which replies.
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

  explicit RequestPool(unsigned threads);
  ~RequestPool() { Stop(); }
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;

  // Queues `task` for a pool thread. The queue is bounded by its callers: the
  // kernel has at most the ring's depth of requests out at once. After Stop(),
  // runs `task` on the calling thread, so that every request still gets its
  // one reply.
  void Post(Task task);
  // Runs the queued tasks, then joins the threads.
  void Stop();

 private:
  void Serve();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;   // GUARDED_BY(mutex_)
  std::vector<std::thread> threads_;
};

}  // namespace wtcachefs
