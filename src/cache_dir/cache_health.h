// SPDX-License-Identifier: Apache-2.0
// Faults of the cache directory that no IO error may ever report: CACHE deleted
// or replaced while mounted (the open slot file keeps working, unlinked), or its
// file system turned read-only. The engine checks each flush round and degrades
// to origin-only on the first one found (DESIGN W3).
#pragma once

#include <optional>
#include <string>

namespace wtcachefs {

// Why the cache at `slot_path`, open as `slot_fd`, can no longer be trusted to
// keep what is written to it; nullopt while it is healthy.
std::optional<std::string> FindCacheDirectoryFault(const std::string& cache_dir,
                                                   const std::string& slot_path, int slot_fd);

}  // namespace wtcachefs
