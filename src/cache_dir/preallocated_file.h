// SPDX-License-Identifier: Apache-2.0
// The files in CACHE sized for the whole cache at mount (the slot file and the
// checksum file): created mode 0600, since they hold or describe copies of
// other users' data. A reserved cache allocates them up front, so that it never
// fails an operation for lack of room (DESIGN W7); an elastic one keeps them
// sparse and takes room as blocks are cached (engine/space_guard.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "wtcachefs/cache_space.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

// Opens or creates `path`, tightens its mode to 0600 and makes it `size` bytes
// long (never shorter than it is), allocating them when `space` is kReserved.
// An allocation that fails gives back what it took: a file it created is
// removed, an existing one cut back to its old size. `what` names the file in
// errors ("the cache slot file").
Result<UniqueFd> OpenPreallocated(const std::string& path, off_t size, const std::string& what,
                                  CacheSpace space);
// A reserved cache (CacheSpace::kReserved) of `data_bytes` of cached data,
// `bytes` with its checksums and metadata room, in the files at `paths`: fails with ENOSPC, naming
// the size and the free space, when the file system of `cache_dir` lacks the
// room those files do not hold yet.
Status CheckRoomToReserve(const std::string& cache_dir, uint64_t data_bytes, uint64_t bytes,
                          const std::vector<std::string>& paths);

// Room kept for the metadata store beside a reserved cache of `slots` slots:
// its log and memtable files (a few MiB) and some 40 bytes a mapping.
inline constexpr uint64_t MetadataRoom(uint64_t slots) { return (uint64_t{4} << 20) + 64 * slots; }

// A file's size before a mount grew it, to give the growth back.
struct FileExtent {
  bool existed = false;
  off_t size = 0;
  static FileExtent Of(const std::string& path);
  // Removes the file when it did not exist, else cuts it back to its size.
  void Restore(const std::string& path) const;
};

// Cuts the file at `fd` to `size` bytes if it is longer (a cache made smaller).
Status TrimTo(int fd, off_t size, const std::string& what);
// Bytes of the file system the file at `path` takes (0 when it does not exist).
uint64_t AllocatedBytes(const std::string& path);
// Gives back the room of `units` (sorted ascending) of `unit_size` bytes each,
// unit i at byte i * unit_size, keeping the file's size; a run of adjacent
// units goes in one call. Sets `punched` to how many leading units had their
// room given back (all of them when it succeeds).
Status PunchUnits(int fd, std::span<const uint32_t> units, uint64_t unit_size,
                  const std::string& what, size_t* punched);

}  // namespace wtcachefs
