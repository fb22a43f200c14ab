// SPDX-License-Identifier: Apache-2.0
// The daemon keeps one descriptor per origin inode the kernel remembers (like
// libfuse's passthrough_ll), so a tree of many files needs far more than the
// usual soft limit of 1024 open files.
#pragma once

#include <cstdint>

namespace wtcachefs {

// Raises RLIMIT_NOFILE as far as allowed: both limits to fs.nr_open where the
// process may raise its hard limit, else the soft limit to the hard one.
// Returns the soft limit now in force.
uint64_t RaiseOpenFileLimit();

}  // namespace wtcachefs
