// SPDX-License-Identifier: Apache-2.0
// ObjectTable: the origin files the engine has seen, under stable object ids,
// with the fingerprint that ties cached blocks to one version of the file
// (DESIGN W6).
//
// Thread safety: all methods may be called concurrently. CachedObject fields
// state their guard.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/block_range_lock.h"
#include "engine/change_gate.h"
#include "wtcachefs/meta_records.h"

namespace wtcachefs {

Fingerprint FingerprintOf(const struct stat& st);

struct CachedObject {
  explicit CachedObject(uint64_t object_id) : id(object_id) {}

  const uint64_t id;
  // Changes of this object's data: writes hold it shared, and their blocks in
  // write_ranges, so writes to different blocks run at once and writes sharing
  // a block reach origin and cache in the same order; truncate, fallocate, copy
  // into it and fsync's clearing of its intents hold it exclusively.
  // Lock order: change_gate, write_ranges, fingerprint_mutex. A write's holds
  // may end on another thread (engine/change_gate.h).
  ChangeGate change_gate;
  BlockRangeLock write_ranges;
  // The origin file's size as last seen or changed through the view; reads are
  // clipped to it.
  std::atomic<uint64_t> size{0};
  // Weak cache consistency (DESIGN W6; engine/origin_consistency.cc). While no
  // change made through the view is in flight, origin's attributes equal
  // `fingerprint` unless the object changed behind the mount.
  std::mutex fingerprint_mutex;
  Fingerprint fingerprint;          // GUARDED_BY(fingerprint_mutex)
  uint32_t changes_in_flight = 0;   // GUARDED_BY(fingerprint_mutex)
  // Found changed behind the mount since the last open: the next open must not
  // let the kernel keep its page cache of the file.
  bool kernel_cache_stale = false;  // GUARDED_BY(fingerprint_mutex)
  // ObjectTable::change_sequence() when the last change of this object ended.
  uint64_t last_change_end = 0;     // GUARDED_BY(fingerprint_mutex)
  // The cache (and the kernel's page cache) may hold bytes that origin changed
  // afterwards without changing `fingerprint`: content was captured under a
  // racy fingerprint (engine/racy_fingerprint.h). The next comparison at open
  // or revalidation drops it; a change through the view keeps it set. A record
  // written while it is set is persisted smudged.
  bool unvouched = false;           // GUARDED_BY(fingerprint_mutex)
  // Written by the daemon of a mount that ended without a clean shutdown
  // (the intent log named it at recovery): the first comparison after the
  // restart takes a fingerprint of the same file whose change time is no later
  // than this (origin wall-clock nanoseconds: the write lease, plus the clock
  // skew allowed) for that daemon's own writes, whose blocks recovery dropped,
  // and keeps the rest of the file's cache (docs/architecture.md, "Warm after a
  // crash"). 0: no such bound.
  int64_t adopt_changes_until_ns = 0;  // GUARDED_BY(fingerprint_mutex)
  // When origin's attributes were last compared with the fingerprint (at
  // open, a change or a revalidation): EngineState::CheckNowNs().
  std::atomic<int64_t> checked_ns{0};
  // DESIGN W8: the CachedFiles open on it, and whether origin's last link to
  // it went through the view (EngineState::Unlinked); once both say it is
  // dead, it is forgotten (EngineState::Forget), once.
  uint32_t open_files = 0;  // GUARDED_BY(fingerprint_mutex)
  bool unlinked = false;    // GUARDED_BY(fingerprint_mutex)
  bool forgotten = false;   // GUARDED_BY(fingerprint_mutex)
};

class ObjectTable {
 public:
  struct Found {
    std::shared_ptr<CachedObject> object;
    bool created;  // new: its fingerprint is the stat it was found with
  };

  // Finds or creates the object for an origin file freshly stat'ed as `st`. A
  // new object takes `st` as its fingerprint; an existing one is returned as
  // it is: comparing is the engine's (origin_consistency.cc).
  Found FindOrCreate(const struct stat& st);
  // The object of origin file (dev, ino), or null when the engine never saw it.
  std::shared_ptr<CachedObject> Find(uint64_t dev, uint64_t ino);
  // A counter that every ended change of any object advances: a stat taken
  // after reading it reflects every change whose last_change_end is below it.
  uint64_t change_sequence() const { return change_sequence_.load(); }
  uint64_t AdvanceChangeSequence() { return ++change_sequence_; }

  // Restores a record loaded from the metadata store (at mount).
  void Restore(const FileRecord& record);
  // Visits every object (at mount: nothing may be added meanwhile).
  void ForEach(const std::function<void(CachedObject&)>& visit);
  // Marks the object's record as needing a write (new object or new fingerprint).
  void MarkDirty(const std::shared_ptr<CachedObject>& object);
  // The records changed since the last call, with their current fingerprints.
  // One caller at a time (the group commit) for it and ReturnTaken().
  std::vector<FileRecord> TakeDirty();
  // The ids of the objects Erase()d since the last call, whose records go.
  // One caller at a time, as TakeDirty().
  std::vector<uint64_t> TakeErased();
  // The records the last TakeDirty() returned, and the erasures the last
  // TakeErased() returned, did not become durable: the next calls return
  // them again.
  void ReturnTaken();
  // Forgets `object` (DESIGN W8: its file is gone): it is found no more, and
  // its record is deleted by the next commit (TakeErased()).
  void Erase(const std::shared_ptr<CachedObject>& object);
  // Objects the table holds.
  size_t size();

 private:
  struct Key {
    uint64_t dev, ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.ino ^ (k.dev << 32)); }
  };

  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<CachedObject>, KeyHash> objects_;  // GUARDED_BY(mutex_)
  uint64_t next_id_ = 1;                                                     // GUARDED_BY(mutex_)
  std::unordered_map<uint64_t, std::shared_ptr<CachedObject>> dirty_;        // GUARDED_BY(mutex_)
  // What the last TakeDirty() returned, for ReturnTaken(): the swap is
  // GUARDED_BY(mutex_); reading it, the caller of TakeDirty() only.
  std::unordered_map<uint64_t, std::shared_ptr<CachedObject>> taken_;
  std::vector<uint64_t> erased_;        // GUARDED_BY(mutex_)
  std::vector<uint64_t> taken_erased_;  // GUARDED_BY(mutex_)
  std::atomic<uint64_t> change_sequence_{1};
};

}  // namespace wtcachefs
