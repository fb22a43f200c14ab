// SPDX-License-Identifier: Apache-2.0
#include "fuse/request_pool.h"

#include <pthread.h>

namespace wtcachefs {

void RequestPool::Post(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(task));
      // Idle threads each take one of the queued tasks; the rest start one.
      if (queue_.size() > idle_ && threads_.size() < max_threads_) {
        threads_.emplace_back([this] { Serve(); });
        ::pthread_setname_np(threads_.back().native_handle(), "wtcachefs-req");
      }
      wake_.notify_one();
      return;
    }
  }
  task();
}

void RequestPool::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

size_t RequestPool::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void RequestPool::Serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to serve
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace wtcachefs
