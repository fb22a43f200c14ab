// SPDX-License-Identifier: Apache-2.0
// EngineState: what every open file of a CacheEngine shares, and the engine's
// persistence: loading at start, group commits, clean shutdown.
//
// Thread safety: its parts are immutable, atomic, or internally synchronised.
// Flush() may run on any thread; flushes are serialised by flush_mutex_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "cache_dir/cache_directory.h"
#include "cache_dir/sector_checksums.h"
#include "cache_dir/slot_file.h"
#include "engine/block_geometry.h"
#include "engine/crash_recheck.h"
#include "engine/intent_log.h"
#include "engine/object_table.h"
#include "engine/open_files.h"
#include "engine/record_sweep.h"
#include "engine/space_guard.h"
#include "report/stats_history.h"
#include "wtcachefs/block_index.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/engine_stats.h"
#include "wtcachefs/miss_ratio_curve.h"

namespace wtcachefs {

class CacheEngine::State {
 public:
  State(const CacheConfig& c, IoBackend& backend, std::unique_ptr<CacheDirectory> directory,
        SlotFile slot_file, ChecksumFile checksum_file);
  ~State();

  // Counts a cache IO error; once the decayed count reaches config.error_limit
  // the engine is degraded and serves from origin only.
  void CacheError(std::atomic<uint64_t>& counter);
  // A cache write (data or checksums) that ended with `result` (a negative
  // errno, or a short count) instead of completing: ENOSPC in an elastic
  // cache, whose file system ran out of room, leaves the block uncached as a
  // bypass; anything else (ENOSPC in a reserved cache too: its room was
  // allocated) is a cache IO error (CacheError).
  void CacheWriteFailed(int64_t result);
  // Switches to degraded mode (origin only) for the rest of the mount and
  // tells the listener, once.
  void Degrade(const std::string& reason);
  // Degraded mode while the metadata store cannot be written (a full file
  // system): nothing waiting for a commit is lost, the flusher retries every
  // round (RetryMetadataCommit), and the engine uses the cache again once a
  // commit succeeds, unless Degrade() was called meanwhile.
  void DegradeWhileMetadataFails(const std::string& reason);
  // A hit's data failed its checksum and the block was dropped: counts it as a
  // cache error (toward degraded mode, as CacheError) and,
  // the first time for this object, tells the corruption listener.
  void CorruptBlock(uint64_t object_id, uint64_t block, int origin_fd);
  // Drops validity of every sector overlapping [offset, offset + length).
  void InvalidateRange(uint64_t object_id, uint64_t offset, uint64_t length);
  // Unmaps blocks >= first_block. end_block_hint: one past the last block that
  // may be mapped, when known (0 when not); a short range is dropped key by key,
  // a long or unknown one by a scan of the index.
  void DropBlocksFrom(uint64_t object_id, uint64_t first_block, uint64_t end_block_hint);

  // Weak cache consistency (DESIGN W6, NFSv3's rule; origin_consistency.cc).
  // While no change made through the view to an origin object is in flight,
  // origin's fresh attributes (StatOrigin) must equal the object's fingerprint;
  // when they do not, the object changed behind the mount: its cached blocks
  // are dropped, the kernel is told to drop its page cache, and only then are
  // the fresh attributes recorded. The view's own changes, however many
  // overlap, never count as external: the last of them to end records the
  // attributes after them all. While changes overlap there is no moment at
  // which origin's attributes are known, so none is compared.
  //
  // Racy fingerprints (engine/racy_fingerprint.h): content captured under a
  // fingerprint whose coarse timestamps' tick had not ended is unvouched
  // (CachedObject::unvouched); a comparison at open or revalidation that finds
  // the fingerprint unchanged drops it all the same, as if origin had changed.
  // A change through the view keeps it, and ends unvouched itself.
  //
  // At open: `st` is a stat of `fd` taken after reading `sequence` from
  // objects.change_sequence(), at `st_taken_ns` (OriginClockNs() before it).
  // Returns true when nothing changed behind the mount, so the kernel may keep
  // its page cache of the file.
  bool CheckAtOpen(const std::shared_ptr<CachedObject>& object, int fd, const struct stat& st,
                   int64_t st_taken_ns, uint64_t sequence);
  // Around every change made through the view to the origin object at `fd`
  // (write, truncate, fallocate, copy into it, attribute changes). A change of
  // data that succeeded ends with its `caller`: the setuid and setgid bits it
  // must lose are cleared first, inside the change (so that their new ctime is
  // the view's own), and the privilege drop listener is told. Returns 0, or
  // the errno of clearing them.
  void BeginChange(const std::shared_ptr<CachedObject>& object, int fd);
  int EndChange(const std::shared_ptr<CachedObject>& object, int fd,
                const ChangeCaller* caller = nullptr);
  // On reads of an open file: compares again once config.revalidate has passed
  // since the last comparison (never when it is zero).
  void Revalidate(const std::shared_ptr<CachedObject>& object, int fd);
  // How long origin's stats around the view's own changes take: an average of
  // the recent ones, in nanoseconds (0 before the first). A thread that must
  // not wait for origin begins a change itself only while they are quick
  // (CachedFile::WriteAsync).
  int64_t change_stat_ns() const { return change_stat_ns_.load(std::memory_order_relaxed); }
  // The time of the comparisons (CachedObject::checked_ns) and of their
  // interval: config.clock's, so that tests need not sleep through intervals.
  int64_t CheckNowNs() const { return NanosecondsOf(config_.clock->Now()); }
  // True when the next Revalidate() of `object` would stat origin.
  bool RevalidationDue(const CachedObject& object) const;
  // Compares again when the last comparison is at least `min_age_ns` old (the
  // sweep of open files, whose reads the kernel may serve without the engine).
  void RevalidateIfOlder(const std::shared_ptr<CachedObject>& object, int fd,
                         int64_t min_age_ns);

  // DESIGN W8, files die. Every CachedFile counts itself open on its object
  // (FileOpened, FileClosed); Unlinked() says origin's last link to an
  // object went through the view. Once it has no link and no open file, its
  // blocks are unmapped (their slots reused only after the next commit, W4)
  // and its record deleted by the next commit. FileClosed() is given the
  // closing file's origin fd, to see whether a link is left.
  void FileOpened(const std::shared_ptr<CachedObject>& object);
  void FileClosed(const std::shared_ptr<CachedObject>& object, int fd);
  void Unlinked(const std::shared_ptr<CachedObject>& object);

  // Loads files and mappings; after an unclean shutdown holds every block in a
  // region the intent log names for a comparison with origin (CrashRecheck)
  // and deletes its mapping durably. Call once, before serving.
  // Mappings to slots at or past `intact_slots` are dropped too: the slot file
  // was missing or shorter than the cache when the engine started.
  Status Load(uint64_t intact_slots);
  // Group commit (DESIGN W4): fdatasync the slot file and the checksum file (in
  // one submission), then one metadata batch
  // with every mapping and file record changed since the last flush, then hand
  // quarantined slots back. With `clear_intents_of`, that object's intent marks
  // are cleared in the same batch: the caller holds its change_gate and has
  // made its origin data durable. With `clear_all_intents`, every mark is.
  Status Flush(const CachedObject* clear_intents_of = nullptr, bool clear_all_intents = false);
  void StartFlusher();
  void StopFlusher();
  // Flusher only, while metadata_blocked_: lets the store take writes again
  // and commits; on success leaves degraded mode (unless Degrade() was
  // called) and tells the recovered listener.
  void RetryMetadataCommit();
  // Degraded mode from here: recorded durably in the lock file first.
  void EnterDegradedLocked(const std::string& reason);  // EXCLUSIVE_LOCKS_REQUIRED(degraded_listener_mutex_)
  // Unmaps the blocks of `object`, which is dead (W8), and erases it.
  void Forget(const std::shared_ptr<CachedObject>& object);
  // Wakes the flusher for a group commit now (evicted slots wait for one).
  // Takes no lock: safe under the index's.
  void RequestFlush();
  EngineStats Stats() const;

  // The engine's parts, shared by its open files (CachedFile).
  const CacheConfig& config() const { return config_; }
  IoBackend& io() const { return io_; }
  CacheDirectory& directory() const { return *directory_; }
  SlotFile& slots() { return slots_; }
  ChecksumFile& checksums() { return checksums_; }  // of the slot file's sectors, slot for slot
  BlockIndex& index() { return index_; }
  ObjectTable& objects() { return objects_; }
  RecordSweep& sweep() { return sweep_; }
  // Fed every block read and write the engine serves (not warming reads).
  MissRatioCurve& curve() { return curve_; }
  // Every open CachedFile, swept every config.revalidate (DESIGN W6).
  OpenFiles& open_files() { return open_files_; }
  IntentLog& intents() { return intents_; }
  EngineCounters& counters() { return counters_; }
  // Sampled at mount (the start of every window) and by the flusher.
  StatsHistory& history() { return history_; }
  // Counters of earlier mounts: loaded by Load(), or carried over by a start
  // that discarded a damaged store (before serving).
  const EngineStats& persisted() const { return persisted_; }
  void set_persisted(const EngineStats& counters) { persisted_ = counters; }

  // Settings that `wtcachefs tune` changes while mounted (from config at start).
  uint64_t sequential_cutoff() const { return sequential_cutoff_.load(); }
  void set_sequential_cutoff(uint64_t bytes) { sequential_cutoff_ = bytes; }
  bool write_allocate() const { return write_allocate_.load(); }
  void set_write_allocate(bool allocate) { write_allocate_ = allocate; }

  // Degraded mode (Degrade()): origin only.
  bool degraded() const { return degraded_.load(); }
  // Why: the reason of the first Degrade() ("" when not degraded).
  std::string degraded_reason() const;
  // Records `state` in the lock file, unless degraded: that record stays
  // until a commit makes what the degraded writes changed durable.
  void RecordHolderState(HolderState state);
  const std::atomic<bool>& degraded_flag() const { return degraded_; }

  // Listeners, each called from any thread (see CacheEngine's setters).
  void set_degraded_listener(std::function<void(const std::string& reason)> listener);
  void set_recovered_listener(std::function<void()> listener);
  void set_external_change_listener(std::function<void(uint64_t dev, uint64_t ino)> listener);
  void set_privilege_drop_listener(std::function<void(uint64_t dev, uint64_t ino)> listener);
  void set_corruption_listener(std::function<void(const std::string& message)> listener);

  // An elastic cache guards its file system's free-space floor from here on
  // (the flusher consults the guard at every commit).
  void StartSpaceGuard();
  // Owner only: Close() ran (or began).
  bool closed() const { return closed_; }
  void set_closed() { closed_ = true; }

 private:
  const CacheConfig config_;
  IoBackend& io_;
  std::unique_ptr<CacheDirectory> directory_;
  SlotFile slots_;
  ChecksumFile checksums_;
  BlockIndex index_;
  ObjectTable objects_;
  RecordSweep sweep_;
  MissRatioCurve curve_;
  OpenFiles open_files_;
  IntentLog intents_;
  EngineCounters counters_;
  // Blocks a crash left in marked regions, compared with origin at their
  // file's first comparison after the restart (Load(), CompareLocked()).
  CrashRecheck rechecks_;
  EngineStats persisted_;
  StatsHistory history_;
  // An elastic cache's guard of its file system's free-space floor; used by
  // the flusher only (null for a reserved cache).
  std::unique_ptr<SpaceGuard> space_guard_;
  std::atomic<uint64_t> sequential_cutoff_;
  std::atomic<bool> write_allocate_;
  std::mutex cache_errors_mutex_;
  double cache_error_weight_ = 0;        // GUARDED_BY(cache_errors_mutex_)
  Clock::TimePoint last_cache_error_{};  // GUARDED_BY(cache_errors_mutex_)
  std::atomic<bool> degraded_{false};
  mutable std::mutex degraded_listener_mutex_;
  std::function<void(const std::string& reason)> degraded_listener_;  // GUARDED_BY(its mutex)
  std::string degraded_reason_;  // GUARDED_BY(degraded_listener_mutex_)
  // Degrade() was called: degraded until a remount. GUARDED_BY(degraded_listener_mutex_).
  bool degraded_for_good_ = false;
  // DegradeWhileMetadataFails() was called and no commit succeeded since.
  std::atomic<bool> metadata_blocked_{false};
  std::function<void()> recovered_listener_;  // GUARDED_BY(degraded_listener_mutex_)
  std::mutex external_change_listener_mutex_;
  // Told (origin st_dev, st_ino) of every object found changed behind the mount
  // while the view had it open or was changing it. GUARDED_BY(its mutex).
  std::function<void(uint64_t dev, uint64_t ino)> external_change_listener_;
  std::mutex privilege_drop_listener_mutex_;
  // Told (origin st_dev, st_ino) of every file whose privilege bits EndChange
  // cleared. GUARDED_BY(its mutex).
  std::function<void(uint64_t dev, uint64_t ino)> privilege_drop_listener_;
  std::mutex corruption_mutex_;
  std::function<void(const std::string& message)> corruption_listener_;  // GUARDED_BY(it)
  std::unordered_set<uint64_t> corruption_reported_;  // object ids; GUARDED_BY(corruption_mutex_)
  bool closed_ = false;  // owner only

  // StatOrigin() of a change's begin or end, timed into change_stat_ns_.
  int TimedChangeStat(int fd, struct stat* st);
  std::atomic<int64_t> change_stat_ns_{0};

  // What a comparison that finds the fingerprint unchanged does with
  // unvouched content: drops it (open, revalidation) or keeps it unvouched
  // (the start of a change through the view).
  enum class Unvouched { kDrop, kKeep };
  // With object->fingerprint_mutex held: compares `fresh`, a stat of origin's
  // `fd` (nullptr: it failed; taken at `taken_ns`, OriginClockNs() before the
  // stat) with the fingerprint and, on a mismatch, drops the object's blocks
  // and origin's page cache of `fd` before recording it; unvouched content is
  // dropped as on a mismatch, or kept, as `unvouched` says. Returns true when
  // blocks were dropped.
  bool CompareLocked(const std::shared_ptr<CachedObject>& object, int fd,
                     const struct stat* fresh, int64_t taken_ns, Unvouched unvouched);
  // At a comparison that found `now` (null: the stat failed) differing from the
  // fingerprint `before`: true when the change is taken for the writes of a
  // daemon that crashed (`until_ns`: the object's adopt_changes_until_ns).
  static bool AdoptsAfterCrash(const Fingerprint& before, const Fingerprint* now,
                               int64_t until_ns);

  std::mutex flush_mutex_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool flusher_stop_ = false;  // GUARDED_BY(flusher_mutex_)
  std::atomic<bool> flush_requested_{false};
  std::thread flusher_;
  // Flusher only: when the sweep takes its next step.
  std::chrono::steady_clock::time_point next_sweep_{};
  // Flusher only: one step of the sweep when it is due.
  void SweepWhenDue();
  // Flusher only: when the heap is next given back (ReleaseFreeHeapWhenDue).
  std::chrono::steady_clock::time_point next_heap_release_{};
  // Flusher only, every 5 s: hands the heap's free pages back to the
  // system. A tree created and deleted through the view leaves the daemon's
  // per-thread heaps holding the memory of every inode the kernel knew at
  // once; without this, RSS would keep that high-water mark for good.
  void ReleaseFreeHeapWhenDue();
};

using EngineState = CacheEngine::State;

}  // namespace wtcachefs
