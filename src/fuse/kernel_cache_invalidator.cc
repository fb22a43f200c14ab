// SPDX-License-Identifier: Apache-2.0
#include "fuse/kernel_cache_invalidator.h"

#include <utility>

namespace wtcachefs {

void KernelCacheInvalidator::Start(fuse_session* session) {
  {
    std::lock_guard lock(mutex_);
    session_ = session;
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void KernelCacheInvalidator::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  session_ = nullptr;
}

void KernelCacheInvalidator::Invalidate(fuse_ino_t ino) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Notice{ino, 0, 0, nullptr});
  }
  wake_.notify_one();
}

bool KernelCacheInvalidator::InvalidateAndWait(fuse_ino_t ino, off_t offset, off_t length,
                                               std::chrono::milliseconds wait) {
  auto done = std::make_shared<Done>();
  {
    std::lock_guard lock(mutex_);
    if (session_ == nullptr || stop_) return false;
    queue_.push_back(Notice{ino, offset, length, done});
  }
  wake_.notify_one();
  std::unique_lock lock(done->mutex);
  return done->cv.wait_for(lock, wait, [&] { return done->done; });
}

bool KernelCacheInvalidator::InvalidateAttributesAndWait(fuse_ino_t ino,
                                                         std::chrono::milliseconds wait) {
  auto done = std::make_shared<Done>();
  {
    std::lock_guard lock(mutex_);
    if (session_ == nullptr || stop_) return false;
    queue_.push_front(Notice{ino, -1, 0, done});
  }
  wake_.notify_one();
  std::unique_lock lock(done->mutex);
  return done->cv.wait_for(lock, wait, [&] { return done->done; });
}

void KernelCacheInvalidator::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::deque<Notice> batch;
    batch.swap(queue_);
    fuse_session* const session = session_;
    lock.unlock();
    for (const Notice& notice : batch) {
      // -ENOENT: the kernel forgot the inode, and its page cache with it.
      (void)fuse_lowlevel_notify_inval_inode(session, notice.ino, notice.offset, notice.length);
      if (notice.done) {
        std::lock_guard done_lock(notice.done->mutex);
        notice.done->done = true;
        notice.done->cv.notify_all();
      }
    }
    lock.lock();
  }
}

}  // namespace wtcachefs
