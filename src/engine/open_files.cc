// SPDX-License-Identifier: Apache-2.0
#include "engine/open_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>
#include <utility>
#include <vector>

#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

void OpenFiles::Add(const void* file, std::shared_ptr<CachedObject> object, int fd) {
  std::lock_guard lock(mutex_);
  files_.insert_or_assign(file, Entry{std::move(object), fd});
}

void OpenFiles::Remove(const void* file) {
  std::lock_guard lock(mutex_);
  files_.erase(file);
}

void OpenFiles::CheckDue(int64_t now_ns, int64_t min_age_ns, const Check& check) {
  std::vector<std::pair<std::shared_ptr<CachedObject>, UniqueFd>> due;
  {
    std::lock_guard lock(mutex_);
    std::unordered_set<const CachedObject*> taken;
    for (const auto& [file, entry] : files_) {
      if (now_ns - entry.object->checked_ns.load() < min_age_ns) continue;
      if (!taken.insert(entry.object.get()).second) continue;  // one fd per object
      // A duplicate: the file may be closed while its check runs.
      UniqueFd copy(::fcntl(entry.fd, F_DUPFD_CLOEXEC, 0));
      if (copy.valid()) due.emplace_back(entry.object, std::move(copy));
    }
  }
  for (auto& [object, fd] : due) check(object, fd.get());
}

void OpenFiles::StartSweeping(std::chrono::milliseconds interval, const Clock& clock,
                              Check check) {
  if (interval.count() <= 0) return;
  const auto period = std::max(interval / 4, std::chrono::milliseconds(10));
  const int64_t min_age_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval - period).count();
  sweeper_ = std::thread([this, period, min_age_ns, &clock, check = std::move(check)] {
    std::unique_lock lock(sweep_mutex_);
    while (!sweep_stop_) {
      sweep_wake_.wait_for(lock, period, [this] { return sweep_stop_; });
      if (sweep_stop_) break;
      lock.unlock();
      CheckDue(NanosecondsOf(clock.Now()), min_age_ns, check);
      lock.lock();
    }
  });
}

void OpenFiles::StopSweeping() {
  {
    std::lock_guard lock(sweep_mutex_);
    sweep_stop_ = true;
  }
  sweep_wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

}  // namespace wtcachefs
