// SPDX-License-Identifier: Apache-2.0
// Faults of the cache directory that no IO error may ever report: CACHE, its
// slot file or its checksum file deleted or replaced while mounted (an open
// file keeps working, unlinked), or its file system turned read-only. The engine checks each flush round and degrades
// to origin-only on the first one found (DESIGN W3).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace wtcachefs {

// A file of the cache: what it is ("slot file"), its path, and the descriptor
// the engine holds it open by.
struct CacheFile {
  std::string what;
  std::string path;
  int fd;
};

// Why the cache in `cache_dir`, whose `files` are open, can no longer be
// trusted to keep what is written to it; nullopt while it is healthy.
std::optional<std::string> FindCacheDirectoryFault(const std::string& cache_dir,
                                                   const std::vector<CacheFile>& files);

}  // namespace wtcachefs
