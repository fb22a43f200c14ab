// SPDX-License-Identifier: Apache-2.0
// The reserved "wtcachefs.*" attributes of a mounted view, answered by the
// cache engine: status reports (read on the root) and commands (written on the
// root for the whole cache, or on a file):
//   wtcachefs.status, .status.json, .status.line   the status report formats
//   wtcachefs.invalidate = ""                       drop cached blocks
//   wtcachefs.warm = "OFFSET LENGTH"                read a file's range into the cache
//   wtcachefs.tune = "NAME=VALUE"                   change a setting (cli/tunables.h)
// They are how `wtcachefs status`, `invalidate` and `warm` reach the daemon.
#pragma once

#include "cli/logger.h"
#include "fuse/mirror_fs.h"
#include "engine/origin_only_engine.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {

// The handlers for `cache` and `log`, which must outlive them.
ViewControl MakeViewControl(CacheEngine& cache, Logger& log);
// The same for a view served without its cache (OriginOnlyEngine): status
// says degraded and why; invalidate has nothing to drop; warm and tune fail
// with EROFS.
ViewControl MakeUncachedViewControl(const OriginOnlyEngine& engine, Logger& log);

}  // namespace wtcachefs
