// SPDX-License-Identifier: Apache-2.0
// Checks ORIGIN, CACHE and VIEW before anything is mounted, so that a mistake is
// reported as one line naming the path and what to do, and nothing is left mounted.
//
// Thread safety: pure function over the filesystem.
#pragma once

#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

// Refuses a VIEW that is already a mount point (EBUSY, naming what is mounted
// there). On success, replaces the three paths in `options` with their canonical absolute
// forms (the daemon changes directory to /).
Status CheckMountPaths(Options& options);

}  // namespace wtcachefs
