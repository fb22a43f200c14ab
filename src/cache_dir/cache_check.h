// SPDX-License-Identifier: Apache-2.0
// CheckCache: `wtcachefs check CACHE` — verifies the metadata of an unmounted
// cache: the superblock decodes and matches the slot file, every mapping points
// into the slot file, no slot is mapped twice, every mapping belongs to a known
// file and has a valid sector, and every record decodes. With `repair`, bad
// mappings are deleted (the cache loses those blocks, never data: origin has it
// all), and a store that cannot be read is reset to an empty cache.
//
// A mapping whose slot the checksum file does not cover cannot be verified (a
// cache made before wtcachefs kept checksums, a lost checksum file): it is bad
// too. With `verify_data`, every valid sector of every mapped block is read and
// checked against its checksum; a block that fails is bad (and listed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cache_dir/cache_lock.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

struct CacheCheckReport {
  // From the superblock (zero when it could not be read).
  uint32_t block_size = 0;
  uint64_t slot_count = 0;
  std::string origin_path;
  bool clean_shutdown = false;
  uint64_t files = 0;
  uint64_t mappings = 0;
  uint64_t intents = 0;
  // With verify_data: blocks read and checked, and one line per block whose
  // data failed its checksum (object, origin inode, block, slot, sectors).
  uint64_t verified_blocks = 0;
  std::vector<std::string> corrupt_blocks;
  // One line per kind of problem found.
  std::vector<std::string> problems;
  // With repair: what was done (empty when nothing needed doing).
  std::vector<std::string> repairs;
};

// Fails (EBUSY) while a mount holds the cache, and (ENOENT) when `cache_dir`
// holds no wtcachefs cache. A mount whose view is already unmounted but which
// is still shutting down is waited for as `lock` says (cache_dir/cache_lock.h).
Result<CacheCheckReport> CheckCache(const std::string& cache_dir, bool repair,
                                    bool verify_data = false,
                                    const CacheLockRequest& lock = {});

}  // namespace wtcachefs
