// EngineState: what every open file of a CacheEngine shares.
//
// Thread safety: members are immutable, atomic, or internally synchronised.
#pragma once

#include <atomic>

#include "engine/block_geometry.h"
#include "engine/object_table.h"
#include "engine/slot_file.h"
#include "wtcachefs/block_index.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/engine_stats.h"

namespace wtcachefs {

struct CacheEngine::State {
  State(const CacheConfig& c, IoBackend& backend, SlotFile slot_file)
      : config(c),
        io(backend),
        slots(std::move(slot_file)),
        index(slots.slot_count(), c.block_size / kSectorSize) {}

  // Counts a cache IO error; past config.error_limit the engine is degraded and
  // serves from origin only.
  void CacheError(std::atomic<uint64_t>& counter);
  // Drops validity of every sector overlapping [offset, offset + length).
  void InvalidateRange(uint64_t object_id, uint64_t offset, uint64_t length);
  // Unmaps blocks >= first_block. end_block_hint: one past the last block that
  // may be mapped, when known (0 when not); a short range is dropped key by key,
  // a long or unknown one by a scan of the index.
  void DropBlocksFrom(uint64_t object_id, uint64_t first_block, uint64_t end_block_hint);

  const CacheConfig config;
  IoBackend& io;
  SlotFile slots;
  BlockIndex index;
  ObjectTable objects;
  EngineCounters counters;
  std::atomic<uint32_t> cache_errors{0};
  std::atomic<bool> degraded{false};
};

using EngineState = CacheEngine::State;

}  // namespace wtcachefs
