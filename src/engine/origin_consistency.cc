// SPDX-License-Identifier: Apache-2.0
// Weak cache consistency (DESIGN W6): how the engine tells a change made behind
// the mount from its own, at open, around every change it makes to origin, and
// on reads of files held open (EngineState's contract in engine_state.h).
#include <algorithm>

#include "engine/engine_state.h"
#include "wtcachefs/origin_stat.h"

namespace wtcachefs {

bool EngineState::CompareLocked(const std::shared_ptr<CachedObject>& object,
                                const struct stat* fresh) {
  object->checked_ns = CheckClockNs();
  // A stat that failed proves nothing: the object counts as changed, and the
  // empty fingerprint it gets matches no real file, so the next comparison
  // fails too until a stat succeeds.
  const Fingerprint now = fresh != nullptr ? FingerprintOf(*fresh) : Fingerprint{};
  if (fresh != nullptr && now == object->fingerprint) return false;
  const Fingerprint before = object->fingerprint;
  const uint64_t block_size = slots.block_size();
  const uint64_t known_size = std::max(before.size, object->size.load());
  // The blocks go before the new fingerprint is recorded: a group commit
  // between the two must not make the new fingerprint durable with them.
  // Without a known size every block of the object is looked for.
  DropBlocksFrom(object->id, 0,
                 before.ino != 0 ? (std::max(known_size, now.size) + block_size - 1) / block_size
                                 : 0);
  object->fingerprint = now;
  object->size = now.size;
  object->kernel_cache_stale = true;
  objects.MarkDirty(object);
  if (before.ino != 0) {
    std::lock_guard lock(external_change_listener_mutex);
    if (external_change_listener) external_change_listener(before.dev, before.ino);
  }
  return true;
}

bool EngineState::CheckAtOpen(const std::shared_ptr<CachedObject>& object, int fd,
                              const struct stat& st, uint64_t sequence) {
  std::lock_guard guard(object->fingerprint_mutex);
  // A change through another open file is under way: origin's attributes are
  // not known, and the kernel must not keep a page cache that may predate it.
  if (object->changes_in_flight > 0) return false;
  struct stat again;
  // A change that ended after `st` was taken may be missing from it.
  const bool changed = object->last_change_end < sequence
                           ? CompareLocked(object, &st)
                           : CompareLocked(object, StatOrigin(fd, &again) == 0 ? &again : nullptr);
  const bool kernel_cache_valid = !changed && !object->kernel_cache_stale;
  object->kernel_cache_stale = false;
  return kernel_cache_valid;
}

void EngineState::BeginChange(const std::shared_ptr<CachedObject>& object, int fd) {
  std::lock_guard guard(object->fingerprint_mutex);
  if (object->changes_in_flight++ > 0) return;
  // The only change in flight: origin must still be as the view left it. The
  // stat is taken under the lock, so no other change can reach origin before it.
  struct stat st;
  (void)CompareLocked(object, StatOrigin(fd, &st) == 0 ? &st : nullptr);
}

void EngineState::EndChange(const std::shared_ptr<CachedObject>& object, int fd) {
  {
    std::lock_guard guard(object->fingerprint_mutex);
    object->last_change_end = objects.AdvanceChangeSequence();
    if (--object->changes_in_flight > 0) return;
    struct stat st;
    object->fingerprint = StatOrigin(fd, &st) == 0 ? FingerprintOf(st) : Fingerprint{};
    object->checked_ns = CheckClockNs();
  }
  objects.MarkDirty(object);
}

void EngineState::Revalidate(const std::shared_ptr<CachedObject>& object, int fd) {
  const int64_t interval_ns = static_cast<int64_t>(config.revalidate.count()) * 1'000'000;
  if (interval_ns > 0) RevalidateIfOlder(object, fd, interval_ns);
}

void EngineState::RevalidateIfOlder(const std::shared_ptr<CachedObject>& object, int fd,
                                    int64_t min_age_ns) {
  if (CheckClockNs() - object->checked_ns.load() < min_age_ns) return;
  std::lock_guard guard(object->fingerprint_mutex);
  // Another reader compared meanwhile, or a change is under way (its end records
  // origin's attributes; the next read after it compares).
  if (object->changes_in_flight > 0 || CheckClockNs() - object->checked_ns.load() < min_age_ns) {
    return;
  }
  struct stat st;
  (void)CompareLocked(object, StatOrigin(fd, &st) == 0 ? &st : nullptr);
}

}  // namespace wtcachefs
