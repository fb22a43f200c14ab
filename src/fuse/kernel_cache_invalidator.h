// SPDX-License-Identifier: Apache-2.0
// KernelCacheInvalidator: tells the kernel to drop its page cache of view
// inodes (fuse_lowlevel_notify_inval_inode), for files found changed behind the
// mount (DESIGN W6).
//
// The notices go out from a thread of their own, never from a request handler:
// the kernel may hold locks on the very pages a request is about (a buffered
// write keeps its pages locked until the reply), and invalidating them from the
// handler would wait for itself. A handler that needs the notice done before it
// replies waits for it with a bound (InvalidateAndWait), so such a case costs
// that bound once instead of hanging the request.
//
// Thread safety: Invalidate() from any thread; Start() and Stop() by the owner.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace wtcachefs {

class KernelCacheInvalidator {
 public:
  KernelCacheInvalidator() = default;
  ~KernelCacheInvalidator() { Stop(); }
  KernelCacheInvalidator(const KernelCacheInvalidator&) = delete;
  KernelCacheInvalidator& operator=(const KernelCacheInvalidator&) = delete;

  // Starts sending to `session` (mounted). Notices queued before are sent then.
  void Start(fuse_session* session);
  // Sends what is queued and stops; call before the session is unmounted.
  void Stop();
  // Queues a notice to drop the page cache of node `ino` (all of it).
  void Invalidate(fuse_ino_t ino);
  // Drops the page cache of [offset, offset + length) of node `ino`, waiting at
  // most `wait` for the kernel to have done it. False when it did not answer
  // in time, or no session is running.
  bool InvalidateAndWait(fuse_ino_t ino, off_t offset, off_t length,
                         std::chrono::milliseconds wait);
  // Drops the kernel's cached attributes of node `ino` (not its pages: no
  // page lock is involved), ahead of the queued notices, waiting at most
  // `wait`. For a change of attributes whose reply carries none.
  bool InvalidateAttributesAndWait(fuse_ino_t ino, std::chrono::milliseconds wait);

 private:
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;  // GUARDED_BY(mutex)
  };
  struct Notice {
    fuse_ino_t ino;
    off_t offset;  // negative: the attributes only
    off_t length;  // 0: to the end
    std::shared_ptr<Done> done;  // null: nobody waits
  };
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Notice> queue_;         // GUARDED_BY(mutex_)
  fuse_session* session_ = nullptr;  // GUARDED_BY(mutex_)
  bool stop_ = false;                // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace wtcachefs
