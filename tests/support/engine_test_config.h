// The cache engine configuration engine tests start from: CACHE and ORIGIN are
// the "cache" and "origin" directories of `dir` (created), the origin identity
// is read from ORIGIN, and the cache holds `blocks` blocks of `block_size`.
#pragma once

#include <cstdint>

#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs::testing {

CacheConfig EngineTestConfig(const TempDir& dir, uint32_t block_size, uint64_t blocks);

}  // namespace wtcachefs::testing
