// SPDX-License-Identifier: Apache-2.0
// ChangeGate: a shared/exclusive lock over the changes of one object's data
// (CachedObject::change_gate) whose holds may end on another thread than the
// one that took them: a write submitted by a FUSE ring thread is acknowledged,
// and lets go of its hold, on the IO completion thread (DESIGN 2b). It meets
// the standard SharedLockable requirements, so std::shared_lock and
// std::lock_guard work with it. Shared holders are preferred, as with
// std::shared_mutex on glibc.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace wtcachefs {

class ChangeGate {
 public:
  void lock_shared() {
    std::unique_lock guard(mutex_);
    opened_.wait(guard, [this] { return !exclusive_; });
    ++shared_;
  }
  bool try_lock_shared() {
    std::lock_guard guard(mutex_);
    if (exclusive_) return false;
    ++shared_;
    return true;
  }
  void unlock_shared() {
    std::lock_guard guard(mutex_);
    if (--shared_ == 0) opened_.notify_all();
  }
  void lock() {
    std::unique_lock guard(mutex_);
    opened_.wait(guard, [this] { return !exclusive_ && shared_ == 0; });
    exclusive_ = true;
  }
  void unlock() {
    {
      std::lock_guard guard(mutex_);
      exclusive_ = false;
    }
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  uint64_t shared_ = 0;     // GUARDED_BY(mutex_)
  bool exclusive_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
