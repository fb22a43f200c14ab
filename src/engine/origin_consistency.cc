// SPDX-License-Identifier: Apache-2.0
// Weak cache consistency (DESIGN W6): how the engine tells a change made behind
// the mount from its own, at open, around every change it makes to origin, and
// on reads of files held open (EngineState's contract in engine_state.h).
#include <fcntl.h>

#include <algorithm>
#include <utility>

#include "engine/engine_state.h"
#include "engine/privilege_bits.h"
#include "engine/racy_fingerprint.h"
#include "wtcachefs/origin_stat.h"

namespace wtcachefs {

bool EngineState::AdoptsAfterCrash(const Fingerprint& before, const Fingerprint* now,
                                   int64_t until_ns) {
  // The same file, changed no earlier than the recorded fingerprint and no
  // later than the lease; never content a smudged record disowns.
  return until_ns != 0 && now != nullptr && now->dev == before.dev && now->ino == before.ino &&
         before != Smudged(before) && now->ctime_ns >= before.ctime_ns &&
         now->ctime_ns <= until_ns;
}

bool EngineState::CompareLocked(const std::shared_ptr<CachedObject>& object, int fd,
                                const struct stat* fresh, int64_t taken_ns,
                                Unvouched unvouched) {
  object->checked_ns = CheckNowNs();
  // Only the first comparison after a restart may take a change for the
  // crashed daemon's writes, whatever it finds.
  const int64_t adopt_until = std::exchange(object->adopt_changes_until_ns, 0);
  // A stat that failed proves nothing: the object counts as changed, and the
  // empty fingerprint it gets matches no real file, so the next comparison
  // fails too until a stat succeeds.
  const Fingerprint now = fresh != nullptr ? FingerprintOf(*fresh) : Fingerprint{};
  const bool matches = fresh != nullptr && now == object->fingerprint;
  const bool was_unvouched = object->unvouched;
  if (matches && (!was_unvouched || unvouched == Unvouched::kKeep)) {
    // Content captured from now on is vouched for once the fingerprint's tick
    // is over; what is unvouched stays so until a comparison drops it.
    object->unvouched = was_unvouched || IsRacy(now, taken_ns);
    if (object->unvouched != was_unvouched) objects_.MarkDirty(object);
    rechecks_.Start(object, fd);
    return false;
  }
  const Fingerprint before = object->fingerprint;
  if (AdoptsAfterCrash(before, fresh != nullptr ? &now : nullptr, adopt_until)) {
    // The daemon of the crashed mount changed it: the blocks its writes
    // touched were held at recovery for a comparison with origin, the rest are
    // origin's bytes still.
    object->fingerprint = now;
    object->size = now.size;
    object->unvouched = object->unvouched || IsRacy(now, taken_ns);
    objects_.MarkDirty(object);
    rechecks_.Start(object, fd);
    return false;
  }
  // Nothing compared before this change may be mapped after it.
  rechecks_.Discard(object->id);
  const uint64_t block_size = slots_.block_size();
  const uint64_t known_size = std::max(before.size, object->size.load());
  // The blocks go before the new fingerprint is recorded: a group commit
  // between the two must not make the new fingerprint durable with them.
  // Without a known size every block of the object is looked for.
  DropBlocksFrom(object->id, 0,
                 before.ino != 0 ? (std::max(known_size, now.size) + block_size - 1) / block_size
                                 : 0);
  // Origin's own page cache of the file may hold the old bytes too: a FUSE
  // origin (sshfs) keeps it while the attributes it sees are unchanged, and a
  // descriptor held open is not reopened. A hint: an O_PATH descriptor takes
  // none, and then the next open of the file on origin drops it.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (matches) EngineCounters::Add(counters_.racy_drops);
  object->fingerprint = now;
  object->size = now.size;
  object->kernel_cache_stale = true;
  // Emptied at `taken_ns`: what is captured later is vouched for once the
  // new fingerprint's tick is over.
  object->unvouched = IsRacy(now, taken_ns);
  objects_.MarkDirty(object);
  if (before.ino != 0) {
    std::lock_guard lock(external_change_listener_mutex_);
    if (external_change_listener_) external_change_listener_(before.dev, before.ino);
  }
  return true;
}

bool EngineState::CheckAtOpen(const std::shared_ptr<CachedObject>& object, int fd,
                              const struct stat& st, int64_t st_taken_ns, uint64_t sequence) {
  std::lock_guard guard(object->fingerprint_mutex);
  // A change through another open file is under way: origin's attributes are
  // not known, and the kernel must not keep a page cache that may predate it.
  if (object->changes_in_flight > 0) return false;
  bool changed;
  // A change that ended after `st` was taken may be missing from it.
  if (object->last_change_end < sequence) {
    changed = CompareLocked(object, fd, &st, st_taken_ns, Unvouched::kDrop);
  } else {
    struct stat again;
    const int64_t taken_ns = OriginClockNs();
    changed = CompareLocked(object, fd, io_.Stat(fd, &again) == 0 ? &again : nullptr, taken_ns,
                            Unvouched::kDrop);
  }
  const bool kernel_cache_valid = !changed && !object->kernel_cache_stale;
  object->kernel_cache_stale = false;
  return kernel_cache_valid;
}

void EngineState::BeginChange(const std::shared_ptr<CachedObject>& object, int fd) {
  std::lock_guard guard(object->fingerprint_mutex);
  if (object->changes_in_flight++ > 0) return;
  // The only change in flight: origin must still be as the view left it. The
  // stat is taken under the lock, so no other change can reach origin before it.
  // Unvouched content is kept: the change ends unvouched as well, and the next
  // open or revalidation drops it (one drop per interval, not one per write).
  struct stat st;
  const int64_t taken_ns = OriginClockNs();
  (void)CompareLocked(object, fd, TimedChangeStat(fd, &st) == 0 ? &st : nullptr, taken_ns,
                      Unvouched::kKeep);
}

int EngineState::TimedChangeStat(int fd, struct stat* st) {
  // On the engine's clock: a test's ManualClock decides how slow origin is.
  const int64_t start_ns = CheckNowNs();
  const int rc = io_.Stat(fd, st);
  const int64_t took = CheckNowNs() - start_ns;
  // An average over about the last eight; a lost update among racing changes
  // only delays it.
  const int64_t before = change_stat_ns_.load(std::memory_order_relaxed);
  change_stat_ns_.store(before == 0 ? took : before + (took - before) / 8,
                        std::memory_order_relaxed);
  return rc;
}

int EngineState::EndChange(const std::shared_ptr<CachedObject>& object, int fd,
                           const ChangeCaller* caller) {
  bool dropped = false;
  const int error =
      caller != nullptr ? DropPrivilegeBitsAfterDataChange(fd, *caller, &dropped) : 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool last = false;
  {
    std::lock_guard guard(object->fingerprint_mutex);
    object->last_change_end = objects_.AdvanceChangeSequence();
    dev = object->fingerprint.dev;
    ino = object->fingerprint.ino;
    if (--object->changes_in_flight == 0) {
      last = true;
      struct stat st;
      const int64_t taken_ns = OriginClockNs();
      object->fingerprint = TimedChangeStat(fd, &st) == 0 ? FingerprintOf(st) : Fingerprint{};
      // The change's bytes were captured in the tick the new fingerprint carries.
      object->unvouched = object->unvouched || IsRacy(object->fingerprint, taken_ns);
      object->checked_ns = CheckNowNs();
    }
  }
  if (last) objects_.MarkDirty(object);
  if (dropped) {
    std::lock_guard lock(privilege_drop_listener_mutex_);
    if (privilege_drop_listener_) privilege_drop_listener_(dev, ino);
  }
  return error;
}

void EngineState::Revalidate(const std::shared_ptr<CachedObject>& object, int fd) {
  const int64_t interval_ns = static_cast<int64_t>(config_.revalidate.count()) * 1'000'000;
  if (interval_ns > 0) RevalidateIfOlder(object, fd, interval_ns);
}

bool EngineState::RevalidationDue(const CachedObject& object) const {
  const int64_t interval_ns = static_cast<int64_t>(config_.revalidate.count()) * 1'000'000;
  return interval_ns > 0 && CheckNowNs() - object.checked_ns.load() >= interval_ns;
}

void EngineState::RevalidateIfOlder(const std::shared_ptr<CachedObject>& object, int fd,
                                    int64_t min_age_ns) {
  if (CheckNowNs() - object->checked_ns.load() < min_age_ns) return;
  std::lock_guard guard(object->fingerprint_mutex);
  // Another reader compared meanwhile, or a change is under way (its end records
  // origin's attributes; the next read after it compares).
  if (object->changes_in_flight > 0 || CheckNowNs() - object->checked_ns.load() < min_age_ns) {
    return;
  }
  struct stat st;
  const int64_t taken_ns = OriginClockNs();
  (void)CompareLocked(object, fd, io_.Stat(fd, &st) == 0 ? &st : nullptr, taken_ns,
                      Unvouched::kDrop);
}

}  // namespace wtcachefs
