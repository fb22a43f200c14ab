// SPDX-License-Identifier: Apache-2.0
// Turns mount Options into the cache engine's configuration: the origin's
// identity, the block size, and the cache size (with its documented default).
//
// Thread safety: pure functions over the filesystem.
#pragma once

#include "wtcachefs/cache_engine.h"
#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

// A size given is reserved; the default one is a tenth of the cache
// filesystem's size, elastic (wtcachefs/cache_space.h).
Result<CacheConfig> MakeCacheConfig(const Options& options);

// The exit code for a cache that cannot be started: 2 when the cache directory
// is at fault (in use, another origin's, another block size, too small, no room), else 4.
int ExitCodeForCacheError(const Status& status);

}  // namespace wtcachefs
