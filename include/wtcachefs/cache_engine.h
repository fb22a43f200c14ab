// SPDX-License-Identifier: Apache-2.0
// CacheEngine: the writethrough block cache (DESIGN §2, §3). File data is cached in
// fixed-size blocks in a slot file on CACHE, with per-4-KiB-sector validity.
//
//  - Writes go to origin and to the cache in one IoBackend submission and return
//    only when both completed (W1). Origin's result is the caller's result (W3):
//    an origin error invalidates the touched blocks; a cache error invalidates
//    them, counts, and (repeated) puts the engine into degraded mode.
//  - Reads are served from valid sectors whose checksums match (a mismatch is
//    served from origin and drops the block), the rest from origin, in one
//    submission; read misses are copied into the cache unless a write to the same
//    block raced them (W5).
//  - An origin file whose fingerprint changed since the engine last saw it has
//    its blocks dropped at open (W6).
//
// Thread safety: Open() and every OpenFile method may be called concurrently;
// Start() and Close() by the owner only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wtcachefs/cache_space.h"
#include "wtcachefs/clock.h"
#include "wtcachefs/data_engine.h"
#include "wtcachefs/engine_stats.h"
#include "wtcachefs/io_backend.h"
#include "wtcachefs/miss_ratio_curve.h"
#include "wtcachefs/policy.h"

namespace wtcachefs {

struct CacheConfig {
  // Directory on the fast device holding the slot file and the metadata.
  std::string cache_dir;
  // ORIGIN: a cache belongs to one origin. A directory is identified by the
  // (st_dev, st_ino) of its root (and origin_path is its canonical path); an
  // image by origin_path alone, with origin_dev and origin_ino 0 (a replaced
  // image file or a renumbered device is still the origin it names).
  std::string origin_path;
  uint64_t origin_dev = 0;
  uint64_t origin_ino = 0;
  // Cache block size for a new cache: a power of two, 4 KiB to 4 MiB; 0 keeps
  // an existing cache's size (64 KiB for a new one). A different size than an
  // existing cache's is an error.
  uint32_t block_size = 0;
  // Bytes of cache data for a new cache (whole blocks; at least one block).
  uint64_t cache_bytes = 0;
  // cache_bytes was asked for: an existing cache of another size is resized
  // to it (shrinking drops the blocks past the new size).
  bool resize = false;
  // Discard the directory's cache and metadata and start afresh.
  bool reset = false;
  // How the cache takes room on its file system (wtcachefs/cache_space.h).
  CacheSpace space = CacheSpace::kReserved;
  // Milliseconds between group commits of mapping changes.
  uint32_t flush_interval_ms = 1000;
  // File records kept in RAM beyond those in use (DESIGN W8: bookkeeping
  // bounded by the files in use); the metadata store holds every record.
  size_t resident_files = 8192;
  // Between steps of the sweep that finds records of files gone behind the
  // mount (engine/record_sweep.h); each step looks at 256 records. 0: none.
  std::chrono::milliseconds sweep_interval{1000};
  // The live miss-ratio curve is kept (wtcachefs/miss_ratio_curve.h).
  bool miss_ratio_curve = true;
  // Write misses allocate a slot (true) or go around the cache (false).
  bool write_allocate = true;
  // Diagnostic: origin write first, cache writes after it completes (see
  // Options::serial_writethrough). Breaks DESIGN W1's one-submission rule on purpose.
  bool serial_writethrough = false;
  // Open files compare origin's attributes with their fingerprint again at
  // most this long after the last comparison, on their next read (DESIGN W6);
  // 0: only at open and around changes made through the view.
  std::chrono::milliseconds revalidate{1000};
  // The write lease's length (engine/intent_log.h): after a crash, a file the
  // daemon was writing keeps its cache when origin's change time is at most
  // this long after the daemon's last commit with changes. Longer than
  // flush_interval_ms, or writes right before a crash cost the file its cache.
  std::chrono::milliseconds write_lease{3000};
  // Which blocks leave a full cache.
  PolicyKind policy = kDefaultPolicy;
  // A block is promoted on its Nth read miss (1: the first).
  uint32_t promote_after = 1;
  // A stream of sequential requests to one open file past this many bytes is
  // not cached (read misses not promoted, write misses not allocated); 0: off.
  uint64_t sequential_cutoff = 4 << 20;
  // Cache IO errors tolerated before the engine degrades to origin-only. Errors
  // are counted with decay (bcache's io_error_limit and io_error_halflife): each
  // one's weight halves every error_half_life, so a burst degrades the engine and
  // the odd error spread over days does not.
  uint32_t error_limit = 8;
  std::chrono::milliseconds error_half_life = std::chrono::minutes(1);
  // The source of time for the decay, the revalidation interval and the timing
  // of origin's stats (tests pass a ManualClock).
  const Clock* clock = &SystemClock();
  // The view this cache serves (recorded with the cache's lock; "" for none).
  std::string view;
  // A previous mount of this cache whose view is gone but which is still
  // shutting down holds the lock: Start() waits up to this long for it,
  // telling on_lock_wait (if set) once when it begins to wait. A holder whose
  // view is still mounted is refused at once.
  std::chrono::milliseconds lock_wait = std::chrono::seconds(30);
  std::function<void(const std::string&)> on_lock_wait;
};

class CacheEngine : public DataEngine {
 public:
  // Opens (or creates) the cache in config.cache_dir: takes its lock, checks it
  // belongs to this origin, recovers from an unclean shutdown (holding every
  // block the intent log names for a comparison with origin), and loads the
  // mapping. Fails with EFBIG when a new reservation, or one that grows, does
  // not fit in the cache's file system; ENOSPC, EDQUOT, EROFS or EIO say that
  // the file system cannot take the cache's writes.
  static Result<std::unique_ptr<CacheEngine>> Start(const CacheConfig& config, IoBackend& io);
  // Closes cleanly if Close() was not called.
  ~CacheEngine() override;

  // The view is mounted: a mount of the same cache is refused at once while it
  // stays mounted, and waited for once it has been unmounted (the lock file
  // says so; until this call the holder counts as starting).
  void MarkServing();
  // Clean shutdown: makes origin, cache data and metadata durable, clears the
  // intent log and records a clean shutdown. Call after the last file closed.
  // The lock file says the holder is leaving from its start.
  Status Close();
  // Warnings from opening (a discarded metadata store, a resized request).
  const std::vector<std::string>& warnings() const;

  Result<std::unique_ptr<OpenFile>> Open(UniqueFd origin_fd) override;
  // Drops the cached blocks of the origin file open at `origin_fd`, or every
  // cached block when it is -1 (`wtcachefs invalidate`). Origin keeps all data.
  Status Invalidate(int origin_fd);
  // Reads [offset, offset + length) of the origin file open at `origin_fd` into
  // the cache, past the sequential cutoff and the promotion filter (`wtcachefs
  // warm`). Returns the bytes read (short at the end of the file).
  Result<uint64_t> Warm(int origin_fd, uint64_t offset, uint64_t length);
  // Settings that may change while mounted (`wtcachefs tune`); each takes
  // effect for the requests that follow.
  void SetSequentialCutoff(uint64_t bytes);
  void SetWriteAllocate(bool allocate);
  void SetPromoteAfter(uint32_t misses);
  // The live miss-ratio curve of the reads served since the mount or the last
  // reset (wtcachefs/miss_ratio_curve.h); the reset is `wtcachefs tune VIEW
  // mrc=reset`.
  MrcSnapshot miss_ratio_curve() const;
  void ResetMissRatioCurve();
  // Called from any thread when the engine degrades to serving from origin
  // only (repeated cache IO errors, a cache directory deleted or read-only: for
  // the rest of the mount; a metadata store that cannot be written, as on a
  // full file system: until a commit succeeds again); the argument says why.
  void set_degraded_listener(std::function<void(const std::string& reason)> listener);
  // Called, from the flusher, when the engine uses the cache again: its
  // metadata store could be written again.
  void set_recovered_listener(std::function<void()> listener);
  int ChangeAttributes(int fd, const std::function<int()>& change) override;
  void Unlinked(int fd) override;
  int RemoveLink(int fd, const std::function<int()>& remove) override;
  // The engine has dropped the file's blocks before it calls the listener.
  void set_external_change_listener(
      std::function<void(uint64_t dev, uint64_t ino)> listener) override;
  void set_privilege_drop_listener(
      std::function<void(uint64_t dev, uint64_t ino)> listener) override;
  // Kept in the cache's metadata store; records nothing while degraded.
  DeviceNumberStore* device_numbers() override { return device_numbers_.get(); }
  // Called from any thread the first time (per origin file and mount) a cached
  // block of a file fails its checksum; the block was served from origin and
  // dropped. The argument names the file and says what happened.
  void set_corruption_listener(std::function<void(const std::string& message)> listener);
  // Totals since the cache was created (persisted across mounts).
  EngineStats stats() const;
  // Why the engine is degraded ("" when it is not).
  std::string degraded_reason() const;
  // Counter increases over the last `window` (5 min, 1 h, 1 day in status) up
  // to `now`, a stats() just taken: never more than `now` holds, and never
  // more than a longer window's. A window reaches back to this mount's start
  // at the most, so on a mount younger than the window it holds all that this
  // mount counted (all of stats() for a new cache).
  EngineStats recent_stats(const EngineStats& now, std::chrono::seconds window) const;
  // The cache block size in bytes.
  uint32_t block_size() const;
  // The slot file's fd and its checksum file's (tests tell origin IO from cache
  // IO by them).
  int slot_fd() const;
  int checksum_fd() const;

  class State;  // shared by the engine's open files (src/engine/engine_state.h)

 private:
  explicit CacheEngine(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::unique_ptr<DeviceNumberStore> device_numbers_;  // over state_'s metadata store
};

}  // namespace wtcachefs
