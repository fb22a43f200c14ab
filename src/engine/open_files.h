// SPDX-License-Identifier: Apache-2.0
// OpenFiles: the origin files the view holds open, and the sweep that
// revalidates them (DESIGN W6: open files are revalidated at least every
// --revalidate seconds). A read served from the kernel's page cache never
// reaches the engine, so the check cannot wait for reads: the sweep compares
// every open file's origin attributes on its own, and a change made behind the
// mount then drops the blocks and the kernel's page cache of the file. The
// kernel's own mtime-driven invalidation (FUSE_AUTO_INVAL_DATA) is not used: it
// cannot tell the view's writes from changes behind the mount, and dropped the
// page cache after every write (docs/benchmarks.md, "Per-request cost").
//
// Thread safety: every method may be called from any thread. The registry's
// lock is never held while a check runs: a check may stat a slow origin.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "engine/object_table.h"
#include "wtcachefs/clock.h"

namespace wtcachefs {

class OpenFiles {
 public:
  // Compares the object's origin attributes (read from `fd`) with its fingerprint.
  using Check = std::function<void(const std::shared_ptr<CachedObject>& object, int fd)>;

  OpenFiles() = default;
  ~OpenFiles() { StopSweeping(); }
  OpenFiles(const OpenFiles&) = delete;
  OpenFiles& operator=(const OpenFiles&) = delete;

  // `file` is a key only; `fd` stays open until Remove(file).
  void Add(const void* file, std::shared_ptr<CachedObject> object, int fd);
  void Remove(const void* file);

  // Runs `check` once per object whose last comparison (checked_ns) is at
  // least `min_age_ns` old, on a duplicate of one of its open fds.
  void CheckDue(int64_t now_ns, int64_t min_age_ns, const Check& check);

  // Every `interval`: CheckDue of what was compared at least an interval ago,
  // less the sweep's period, so no open file goes unchecked much past
  // `interval`. Not started for an interval of zero (close-to-open only).
  // Ages are measured by `clock` (the engine's), which must outlive the sweep.
  void StartSweeping(std::chrono::milliseconds interval, const Clock& clock, Check check);
  void StopSweeping();

 private:
  struct Entry {
    std::shared_ptr<CachedObject> object;
    int fd;
  };

  std::mutex mutex_;
  std::unordered_map<const void*, Entry> files_;  // GUARDED_BY(mutex_)

  std::mutex sweep_mutex_;
  std::condition_variable sweep_wake_;
  bool sweep_stop_ = false;  // GUARDED_BY(sweep_mutex_)
  std::thread sweeper_;
};

}  // namespace wtcachefs
