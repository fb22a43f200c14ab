// EngineState: what every open file of a CacheEngine shares, and the engine's
// persistence: loading at start, group commits, clean shutdown.
//
// Thread safety: members are immutable, atomic, or internally synchronised.
// Flush() may run on any thread; flushes are serialised by flush_mutex_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "engine/block_geometry.h"
#include "engine/cache_directory.h"
#include "engine/intent_log.h"
#include "engine/object_table.h"
#include "engine/sector_checksums.h"
#include "engine/slot_file.h"
#include "engine/stats_history.h"
#include "wtcachefs/block_index.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/engine_stats.h"

namespace wtcachefs {

struct CacheEngine::State {
  State(const CacheConfig& c, IoBackend& backend, std::unique_ptr<CacheDirectory> directory,
        SlotFile slot_file, ChecksumFile checksum_file);
  ~State();

  // Counts a cache IO error; once the decayed count reaches config.error_limit
  // the engine is degraded and serves from origin only.
  void CacheError(std::atomic<uint64_t>& counter);
  // Switches to degraded mode (origin only) and tells the listener, once.
  void Degrade(const std::string& reason);
  // A hit's data failed its checksum and the block was dropped: counts it and,
  // the first time for this object, tells the corruption listener.
  void CorruptBlock(uint64_t object_id, uint64_t block, int origin_fd);
  // Drops validity of every sector overlapping [offset, offset + length).
  void InvalidateRange(uint64_t object_id, uint64_t offset, uint64_t length);
  // Unmaps blocks >= first_block. end_block_hint: one past the last block that
  // may be mapped, when known (0 when not); a short range is dropped key by key,
  // a long or unknown one by a scan of the index.
  void DropBlocksFrom(uint64_t object_id, uint64_t first_block, uint64_t end_block_hint);

  // Loads files and mappings; after an unclean shutdown drops every block in a
  // region the intent log names. Call once, before serving.
  // Mappings to slots at or past `intact_slots` are dropped too: the slot file
  // was missing or shorter than the cache when the engine started.
  Status Load(uint64_t intact_slots);
  // Group commit (DESIGN W4): fdatasync the slot file and the checksum file (in
  // one submission), then one metadata batch
  // with every mapping and file record changed since the last flush, then hand
  // quarantined slots back. With `clear_intents_of`, that object's intent marks
  // are cleared in the same batch: the caller holds its change_mutex and has
  // made its origin data durable. With `clear_all_intents`, every mark is.
  Status Flush(const CachedObject* clear_intents_of = nullptr, bool clear_all_intents = false);
  void StartFlusher();
  void StopFlusher();
  // Wakes the flusher for a group commit now (evicted slots wait for one).
  // Takes no lock: safe under the index's.
  void RequestFlush();
  EngineStats Stats() const;

  const CacheConfig config;
  IoBackend& io;
  std::unique_ptr<CacheDirectory> directory;
  SlotFile slots;
  ChecksumFile checksums;  // of the slot file's sectors, slot for slot
  BlockIndex index;
  ObjectTable objects;
  IntentLog intents;
  EngineCounters counters;
  EngineStats persisted;  // counters of earlier mounts; immutable after Load()
  StatsHistory history{SystemClock()};  // sampled by the flusher
  // Settings that `wtcachefs tune` changes while mounted (from config at start).
  std::atomic<uint64_t> sequential_cutoff;
  std::atomic<bool> write_allocate;
  std::mutex cache_errors_mutex;
  double cache_error_weight = 0;              // GUARDED_BY(cache_errors_mutex)
  Clock::TimePoint last_cache_error{};        // GUARDED_BY(cache_errors_mutex)
  std::atomic<bool> degraded{false};
  std::mutex degraded_listener_mutex;
  std::function<void(const std::string& reason)> degraded_listener;  // GUARDED_BY(its mutex)
  std::mutex corruption_mutex;
  std::function<void(const std::string& message)> corruption_listener;  // GUARDED_BY(it)
  std::unordered_set<uint64_t> corruption_reported;  // object ids; GUARDED_BY(corruption_mutex)
  bool closed = false;  // owner only

 private:
  std::mutex flush_mutex_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool flusher_stop_ = false;  // GUARDED_BY(flusher_mutex_)
  std::atomic<bool> flush_requested_{false};
  std::thread flusher_;
};

using EngineState = CacheEngine::State;

}  // namespace wtcachefs
