// CacheEngine: the writethrough block cache (DESIGN §2, §3). File data is cached in
// fixed-size blocks in a slot file on CACHE, with per-4-KiB-sector validity.
//
//  - Writes go to origin and to the cache in one IoBackend submission and return
//    only when both completed (W1). Origin's result is the caller's result (W3):
//    an origin error invalidates the touched blocks; a cache error invalidates
//    them, counts, and (repeated) puts the engine into degraded mode.
//  - Reads are served from valid sectors, the rest from origin, in one
//    submission; read misses are copied into the cache unless a write to the same
//    block raced them (W5).
//  - An origin file whose fingerprint changed since the engine last saw it has
//    its blocks dropped at open (W6).
//
// Thread safety: Open() and every OpenFile method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wtcachefs/data_engine.h"
#include "wtcachefs/engine_stats.h"
#include "wtcachefs/io_backend.h"

namespace wtcachefs {

struct CacheConfig {
  // Directory on the fast device holding the slot file.
  std::string cache_dir;
  // Cache block size: a power of two, 4 KiB to 4 MiB. Default 64 KiB.
  uint32_t block_size = 64 * 1024;
  // Bytes of cache data (rounded down to whole blocks; at least one block).
  uint64_t cache_bytes = 0;
  // Write misses allocate a slot (true) or go around the cache (false).
  bool write_allocate = true;
  // Cache IO errors tolerated before the engine degrades to origin-only.
  uint32_t error_limit = 8;
};

class CacheEngine : public DataEngine {
 public:
  static Result<std::unique_ptr<CacheEngine>> Create(const CacheConfig& config,
                                                     IoBackend& io);
  ~CacheEngine() override;

  Result<std::unique_ptr<OpenFile>> Open(UniqueFd origin_fd) override;
  EngineStats stats() const;
  // The slot file's fd (tests tell origin IO from cache IO by it).
  int slot_fd() const;

  struct State;  // shared by the engine's open files (src/engine/engine_state.h)

 private:
  explicit CacheEngine(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wtcachefs
