// SPDX-License-Identifier: Apache-2.0
// ObjectTable: the origin files the cache knows, under stable object ids, with
// the fingerprint that ties cached blocks to one version of the file (DESIGN
// W6), and their records in the metadata store.
//
// Bounded by the files in use, not by every file the cache has seen (DESIGN
// W8): the store holds every record and an index of them by origin (st_dev,
// st_ino); an object is read from it when first wanted, and one nobody holds
// that has nothing waiting for a commit leaves memory once more than
// `resident_limit` objects are resident (least recently wanted first).
//
// A new object has no record until its first block is mapped (Record()): one
// that leaves memory or is erased before then costs no metadata write but its
// id's, and only when that id was never free before.
//
// Object ids are given again: the id of an erased object is free once the
// commit that deletes its record has made its blocks' unmapping durable and an
// index scan found no mapping of it left (TakeUnverified, FreeVerified); the
// id of an object that never had a record, once a commit cleared its intents.
//
// Thread safety: all methods may be called concurrently. CachedObject fields
// state their guard. Lock order: CachedObject::fingerprint_mutex, then the
// table's mutex (MarkDirty is called under the former); the table only
// try_locks a fingerprint_mutex under its own.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/block_range_lock.h"
#include "engine/change_gate.h"
#include "wtcachefs/meta_records.h"
#include "wtcachefs/meta_store.h"
#include "wtcachefs/origin_file_key.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

Fingerprint FingerprintOf(const struct stat& st);

struct CachedObject {
  CachedObject(uint64_t object_id, uint64_t origin_dev, uint64_t origin_ino)
      : id(object_id), dev(origin_dev), ino(origin_ino) {}

  const uint64_t id;
  // The origin file's (st_dev, st_ino): the table's key, whatever the
  // fingerprint says after a stat that failed.
  const uint64_t dev, ino;
  // A file handle of the origin file, recorded with the object's first record
  // for the sweep (engine/record_sweep.h); "" when none. Set by Record(),
  // before the object is dirty.
  std::string handle;
  // It has a record in the metadata store, or gets one at the next commit:
  // set before its first block is mapped (ObjectTable::Record). A file never
  // cached costs no metadata write.
  std::atomic<bool> recorded{false};
  // Its id was one of the store's free ids, which recording it takes out of
  // them. Set before the object is shared.
  bool id_was_free = false;
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

  // What one group commit writes of the table (TakeChanges()); it holds the
  // objects it names until Committed() or ReturnChanges().
  class Changes {
   public:
    // Adds the changes to `batch`, in an order whose result is right whatever
    // they share: an erased object's index entry goes before a new object of
    // the same origin file puts its own.
    void WriteTo(MetaBatch& batch) const;
    bool has_records() const { return !records_.empty(); }
    // The objects forgotten (erased, or gone from memory without a record):
    // their intents are cleared in the same commit, so that their ids carry
    // none to a new file.
    std::vector<uint64_t> dead_ids() const;

   private:
    friend class ObjectTable;
    std::vector<std::shared_ptr<CachedObject>> records_;  // dirty, not erased
    std::vector<std::shared_ptr<CachedObject>> erased_;
    std::vector<std::shared_ptr<CachedObject>> dropped_;  // never recorded
    std::vector<uint64_t> reused_ids_;  // taken from the store's free ids
    uint64_t next_id_ = 0;              // to record; 0: unchanged
  };

  ObjectTable(MetaStore& store, size_t resident_limit);

  // At mount, before anything else: reads the next object id and the free
  // ids; indexes the records of a store written before the index existed.
  Status Open();

  // Finds or creates the object for an origin file freshly stat'ed as `st`. A
  // new object takes `st` as its fingerprint; an existing one is returned as
  // it is: comparing is the engine's (origin_consistency.cc). Fails only
  // when the metadata store cannot be read.
  Result<Found> FindOrCreate(const struct stat& st);
  // The object of origin file (dev, ino); null when the cache has no record
  // of it.
  Result<std::shared_ptr<CachedObject>> Find(uint64_t dev, uint64_t ino);
  // The object whose record has `object_id` (null: none, or the index leads
  // elsewhere), made resident.
  Result<std::shared_ptr<CachedObject>> FindById(uint64_t object_id);
  // A counter that every ended change of any object advances: a stat taken
  // after reading it reflects every change whose last_change_end is below it.
  uint64_t change_sequence() const { return change_sequence_.load(); }
  uint64_t AdvanceChangeSequence() { return ++change_sequence_; }

  // Gives the object a record (at the next commit), if it has none, with the
  // handle `handle_of` gives: call it before mapping a block of it.
  void Record(const std::shared_ptr<CachedObject>& object,
              const std::function<std::string()>& handle_of = {});
  // Lets every object without a record that nobody holds leave memory (at a
  // clean shutdown: their ids are kept free by the next commit).
  void DropUnrecorded();
  // Marks the object's record as needing a write (a new fingerprint); nothing
  // for an object without a record.
  void MarkDirty(const std::shared_ptr<CachedObject>& object);
  // Forgets `object` (DESIGN W8: its file is gone): it is found no more, its
  // record is deleted by the next commit, and its id is given again once
  // verified free. The caller has unmapped its blocks.
  void Erase(const std::shared_ptr<CachedObject>& object);

  // The group commit's side, one caller at a time: the changes since the last
  // call; after the commit, Committed() (the erased objects' ids then wait
  // for verification) or ReturnChanges() (the next call returns them again).
  Changes TakeChanges();
  void Committed(Changes changes);
  void ReturnChanges(Changes changes);
  // Ids whose records' deletion is durable, for a scan of the block index
  // that unmaps any block of theirs left; once that unmapping is durable too,
  // FreeVerified() lets them be given again (or ReturnUnverified(): not).
  std::vector<uint64_t> TakeUnverified();
  void FreeVerified(const std::vector<uint64_t>& ids);
  void ReturnUnverified(const std::vector<uint64_t>& ids);

  // Objects resident now; ids that can be given again.
  size_t resident() const;
  size_t free_ids() const;

 private:
  using Key = OriginFileKey;
  struct Resident {
    std::shared_ptr<CachedObject> object;
    std::list<Key>::iterator recent;  // its place in recent_
  };
  using Lock = std::unique_lock<std::mutex>;

  // The resident object of `key`, made the most recently wanted; else the one
  // its record describes, read from the store and made resident; else null.
  Result<std::shared_ptr<CachedObject>> FindLocked(const Key& key);
  std::shared_ptr<CachedObject> AddLocked(const Key& key, std::shared_ptr<CachedObject> object);
  // Lets objects nobody holds leave memory while more than the limit are resident.
  void TrimLocked();
  // An id for a new object; `*was_free`: one of the store's free ids.
  uint64_t NewIdLocked(bool* was_free);
  // `object` leaves the table for good (its file is gone, or it leaves
  // memory without a record).
  void ForgetLocked(std::shared_ptr<CachedObject> object);

  MetaStore& store_;
  const size_t resident_limit_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, Resident, OriginFileKeyHash> resident_;  // GUARDED_BY(mutex_)
  std::list<Key> recent_;  // most recently wanted first; GUARDED_BY(mutex_)
  // The highest last_change_end of an object that left memory: one read back
  // takes it, as its change may have ended that late. GUARDED_BY(mutex_)
  uint64_t left_change_end_ = 0;
  uint64_t next_id_ = 1;          // GUARDED_BY(mutex_)
  bool next_id_changed_ = false;  // GUARDED_BY(mutex_)
  std::vector<uint64_t> free_;    // GUARDED_BY(mutex_)
  std::vector<uint64_t> reused_;  // from free_ since the last TakeChanges(); GUARDED_BY(mutex_)
  std::unordered_map<uint64_t, std::shared_ptr<CachedObject>> dirty_;  // GUARDED_BY(mutex_)
  std::vector<std::shared_ptr<CachedObject>> erased_;                  // GUARDED_BY(mutex_)
  std::vector<std::shared_ptr<CachedObject>> dropped_;                 // GUARDED_BY(mutex_)
  // Ids erased whose record may still be in the store (until their deletion
  // commits): the index must not lead to them. GUARDED_BY(mutex_)
  std::unordered_set<uint64_t> erasing_;
  std::vector<uint64_t> unverified_;  // GUARDED_BY(mutex_)
  std::atomic<uint64_t> change_sequence_{1};
};

}  // namespace wtcachefs
