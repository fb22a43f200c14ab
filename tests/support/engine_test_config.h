// SPDX-License-Identifier: Apache-2.0
// The cache engine configuration engine tests start from: CACHE and ORIGIN are
// the "cache" and "origin" directories of `dir` (created), the origin identity
// is read from ORIGIN, and the cache holds `blocks` blocks of `block_size`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs::testing {

CacheConfig EngineTestConfig(const TempDir& dir, uint32_t block_size, uint64_t blocks);

// The caller of the tests' data changes: root, who loses no privilege bits.
inline const ChangeCaller kRootCaller{};

// `path` opened read-write (created when missing) and handed to `engine`; null
// when that failed (the test has failed then).
std::unique_ptr<OpenFile> OpenThrough(DataEngine& engine, const std::string& path);
// Up to `length` bytes at `offset` through `file`; fails the test on an error.
std::string ReadThrough(OpenFile& file, off_t offset, size_t length);

}  // namespace wtcachefs::testing
