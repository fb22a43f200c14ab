// SPDX-License-Identifier: Apache-2.0
// EngineStats: what the cache engine has done (DESIGN §3 statistics). Counters
// only grow; gauges (used_blocks, total_blocks, index_memory_bytes, resident_files,
// space_limit_blocks, degraded)
// describe the present: they are neither persisted nor summed over windows. A
// snapshot is a plain value.
//
// Thread safety: EngineCounters is updated lock-free from any thread; Snapshot()
// may be taken at any time (fields are individually, not mutually, consistent).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace wtcachefs {

struct EngineStats {
  uint64_t read_hits = 0;          // whole request served from the cache
  uint64_t read_partial_hits = 0;  // part from the cache, part from origin
  uint64_t read_misses = 0;        // all from origin
  uint64_t write_hits = 0;         // blocks written to origin and a mapped slot
  uint64_t write_misses = 0;       // blocks written to origin only or allocated
  uint64_t promotions = 0;         // blocks whose origin bytes were copied in
  uint64_t demotions = 0;          // blocks evicted by the replacement policy
  uint64_t bypasses = 0;           // blocks not cached: no free slot, sequential, degraded
  uint64_t invalidations = 0;      // blocks dropped (errors, external changes, truncate)
  uint64_t corrupt_blocks = 0;     // cached blocks dropped: their data failed its checksum
  // Cached blocks a crash left in doubt (in a region the intent log named)
  // that matched origin when compared after the restart, and were kept.
  uint64_t recovered_blocks = 0;
  // Files whose cached blocks were dropped because a fingerprint taken within
  // one tick of coarse origin timestamps could not vouch for them (DESIGN W6).
  uint64_t racy_drops = 0;
  // Files whose blocks and record the cache dropped because origin's last
  // link to them went (DESIGN W8), at their last release.
  uint64_t deleted_files = 0;
  uint64_t cache_read_errors = 0;
  uint64_t cache_write_errors = 0;
  uint64_t origin_read_errors = 0;
  uint64_t origin_write_errors = 0;
  uint64_t bytes_read_from_cache = 0;
  uint64_t bytes_read_from_origin = 0;
  // Gauges.
  uint64_t used_blocks = 0;
  uint64_t total_blocks = 0;
  uint64_t index_memory_bytes = 0;  // RAM of the block index and its policy
  // Files whose records are held in RAM: those in use and the most recently
  // used (the metadata store holds every record).
  uint64_t resident_files = 0;
  // Blocks the cache may hold data in now: total_blocks, or fewer while an
  // elastic cache's file system is near its free-space floor.
  uint64_t space_limit_blocks = 0;
  bool degraded = false;
};

// Calls visit(name, value) for every cumulative counter, in a fixed order. The
// names are the persisted keys and the status field names. Gauges are not
// visited.
// Works on const and mutable stats alike.
template <typename Stats, typename Visit>
void ForEachCounter(Stats& s, Visit&& visit) {
  visit("read_hits", s.read_hits);
  visit("read_partial_hits", s.read_partial_hits);
  visit("read_misses", s.read_misses);
  visit("write_hits", s.write_hits);
  visit("write_misses", s.write_misses);
  visit("promotions", s.promotions);
  visit("demotions", s.demotions);
  visit("bypasses", s.bypasses);
  visit("invalidations", s.invalidations);
  visit("corrupt_blocks", s.corrupt_blocks);
  visit("recovered_blocks", s.recovered_blocks);
  visit("racy_drops", s.racy_drops);
  visit("deleted_files", s.deleted_files);
  visit("cache_read_errors", s.cache_read_errors);
  visit("cache_write_errors", s.cache_write_errors);
  visit("origin_read_errors", s.origin_read_errors);
  visit("origin_write_errors", s.origin_write_errors);
  visit("bytes_read_from_cache", s.bytes_read_from_cache);
  visit("bytes_read_from_origin", s.bytes_read_from_origin);
}

// Mutable access to the same counters, for loading persisted values.
uint64_t* CounterByName(EngineStats& s, std::string_view name);

struct EngineCounters {
  std::atomic<uint64_t> read_hits{0}, read_partial_hits{0}, read_misses{0};
  std::atomic<uint64_t> write_hits{0}, write_misses{0};
  std::atomic<uint64_t> promotions{0}, bypasses{0}, invalidations{0}, corrupt_blocks{0};
  std::atomic<uint64_t> racy_drops{0}, recovered_blocks{0}, deleted_files{0};
  std::atomic<uint64_t> cache_read_errors{0}, cache_write_errors{0};
  std::atomic<uint64_t> origin_read_errors{0}, origin_write_errors{0};
  std::atomic<uint64_t> bytes_read_from_cache{0}, bytes_read_from_origin{0};

  static void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  EngineStats Snapshot() const;
};

}  // namespace wtcachefs
