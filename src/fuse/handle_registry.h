// SPDX-License-Identifier: Apache-2.0
// HandleRegistry: the handles (fi->fh) a view has given the kernel. A session
// that ends with files or directories still open (a signal, an unmount under
// load) never gets their release requests; the registry frees what is left
// when the view goes away, before the engine is closed.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace wtcachefs {

template <typename Handle>
class HandleRegistry {
 public:
  HandleRegistry() = default;
  HandleRegistry(const HandleRegistry&) = delete;
  HandleRegistry& operator=(const HandleRegistry&) = delete;
  ~HandleRegistry() {
    for (Handle* handle : live_) delete handle;
  }

  // Takes ownership; returns the value for fi->fh.
  uint64_t Add(std::unique_ptr<Handle> handle) {
    Handle* raw = handle.release();
    std::lock_guard lock(mutex_);
    live_.insert(raw);
    return reinterpret_cast<uint64_t>(raw);
  }
  // Frees the handle of `fh` (the kernel released it, or its open failed).
  void Free(uint64_t fh) {
    Handle* raw = reinterpret_cast<Handle*>(fh);
    {
      std::lock_guard lock(mutex_);
      live_.erase(raw);
    }
    delete raw;
  }

 private:
  std::mutex mutex_;
  std::unordered_set<Handle*> live_;  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
