// SPDX-License-Identifier: Apache-2.0
// The lock of a CACHE directory: an exclusive flock on CACHE/lock, held while a
// mount (or `wtcachefs check`) uses the cache. The file names the holder, one
// line each: its pid, its state ("state=starting", "state=serving" or
// "state=leaving"; absent in files of older versions), then the view it serves
// ("" for a tool such as check).
//
// A mount whose view was just unmounted still holds the lock while it shuts
// the cache down (`umount` returns before the daemon exits). A new mount or
// check finding the lock taken by such a holder waits for it (bounded); a
// holder that is starting, whose view is still mounted, or that serves no view
// is refused at once.
//
// Thread safety: pure functions over the file system.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct CacheLockRequest {
  // The view the new holder serves, recorded in the lock file ("" for none).
  std::string view;
  // Longest wait for a holder whose view is no longer mounted.
  std::chrono::milliseconds wait_for_leaving_holder{std::chrono::seconds(30)};
  // Told once, with a message to show, when such a wait has lasted
  // `announce_after`: a holder that shuts down promptly (tens of
  // milliseconds) is waited for without a word.
  std::function<void(const std::string&)> on_wait;
  std::chrono::milliseconds announce_after{std::chrono::seconds(1)};
};

// kDegraded: serving from origin only, with writes that mark no intent (the
// cache is not written); recorded durably before the first such write, so
// that recovery after a crash never takes such a change for the crashed
// daemon's own (docs/architecture.md, "Warm after a crash").
enum class HolderState { kUnknown, kStarting, kServing, kDegraded, kLeaving };

struct CacheLockHolder {
  pid_t pid = 0;  // 0 when the file does not name one
  HolderState state = HolderState::kUnknown;
  std::string view;  // "" when it serves no view
};

// The holder the lock file `dir`/lock names (what it last wrote).
std::optional<CacheLockHolder> ReadCacheLockHolder(const std::string& dir);

// Takes the lock of the cache directory `dir`, waiting as described above, or
// fails with EBUSY and a message naming the holder's pid (and view). The
// holder is recorded as starting.
Result<UniqueFd> LockCacheDirectory(const std::string& dir,
                                    const CacheLockRequest& request = {});

// Records the state of the holder of `lock_fd` (from LockCacheDirectory), who
// serves `view`. Best effort: the record shapes what others are told, and
// kDegraded what the next recovery adopts; kDegraded is made durable
// (fdatasync) before this returns. The file is rewritten in place, needing no
// new room on a full file system.
void RecordHolderState(int lock_fd, const std::string& view, HolderState state);

}  // namespace wtcachefs
