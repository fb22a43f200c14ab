// SPDX-License-Identifier: Apache-2.0
// CrashRecheck: cached blocks that a crash left in regions the intent log
// names (DESIGN W4), compared with origin instead of dropped
// (docs/architecture.md, "Warm after a crash").
//
// At recovery (EngineState::Load) such a mapping is deleted durably, as every
// mapping in a marked region is, but its slot is held (BlockIndex::
// HoldForRecheck) and listed here with the sectors it held. When the file's
// first comparison after the restart keeps its cache (origin unchanged, or
// changed within the write lease), Start() compares the listed blocks on a
// background thread: origin's data is made durable first (fdatasync), then
// each block is read from origin, from its slot and from the checksum file in
// one submission, under the file's change gate (shared) and the block's write
// range, so no change through the view runs beside it. The sectors whose slot
// bytes equal origin's and match their stored checksums are mapped again
// (BlockIndex::Readmit); the next group commit makes them durable after the
// slot file. A file whose comparison drops its cache is Discard()ed before its
// blocks are dropped, so nothing compared before the change is mapped after
// it. Slots of blocks that are not mapped again are handed back.
//
// Thread safety: all methods may be called concurrently, except Hold(), which
// recovery calls before serving. Lock order: the object's change_gate, its
// write_ranges, then mutex_, then the index's; Discard() may be called under
// the object's fingerprint_mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache_dir/sector_checksums.h"
#include "cache_dir/slot_file.h"
#include "wtcachefs/block_index.h"
#include "wtcachefs/engine_stats.h"
#include "wtcachefs/io_backend.h"
#include "wtcachefs/sector_set.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct CachedObject;

class CrashRecheck {
 public:
  // A block whose mapping recovery did not trust: its slot and the sectors the
  // mapping named valid.
  struct Suspect {
    uint64_t block;
    uint64_t slot;
    SectorSet valid;
  };

  CrashRecheck(BlockIndex& index, IoBackend& io, const SlotFile& slots,
               const ChecksumFile& checksums, EngineCounters& counters)
      : index_(index), io_(io), slots_(slots), checksums_(checksums), counters_(counters) {}
  ~CrashRecheck() { Stop(); }
  CrashRecheck(const CrashRecheck&) = delete;
  CrashRecheck& operator=(const CrashRecheck&) = delete;

  // Recovery only: holds the suspect's slot for a recheck. False (nothing
  // held) when the index refuses the slot (a mapping restored to it already).
  bool Hold(uint64_t object_id, Suspect suspect);
  // True when `object_id` has suspects not yet started or discarded. Cheap
  // once none are left.
  bool Pending(uint64_t object_id) const;
  // The object's first comparison kept its cache: its suspects are compared
  // with origin as read through `fd` (reopened for reading; any descriptor
  // of the file, O_PATH included).
  void Start(const std::shared_ptr<CachedObject>& object, int fd);
  // The object's cache is being dropped: none of its suspects is mapped again.
  void Discard(uint64_t object_id);
  // Ends the background thread and hands back the slots still held.
  void Stop();

 private:
  struct Job {
    std::vector<Suspect> suspects;
    std::shared_ptr<CachedObject> object;  // set by Start()
    UniqueFd origin;                       // set by Start()
    bool discarded = false;
  };

  void Run();
  void Recheck(uint64_t object_id, Job& job);
  // Compares one suspect with origin; returns the sectors to map again.
  SectorSet Compare(uint64_t object_id, int origin_fd, const Suspect& suspect);
  void ReleaseLocked(Job& job);

  BlockIndex& index_;
  IoBackend& io_;
  const SlotFile& slots_;
  const ChecksumFile& checksums_;
  EngineCounters& counters_;

  mutable std::mutex mutex_;
  std::condition_variable started_;
  std::unordered_map<uint64_t, Job> jobs_;  // GUARDED_BY(mutex_): by object id
  std::deque<uint64_t> queue_;              // GUARDED_BY(mutex_): started, not yet run
  bool stopping_ = false;                   // GUARDED_BY(mutex_)
  std::atomic<bool> any_pending_{false};    // jobs_ is not empty
  std::thread worker_;                      // started by the first Start()
};

}  // namespace wtcachefs
