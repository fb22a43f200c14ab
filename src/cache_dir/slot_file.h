// SPDX-License-Identifier: Apache-2.0
// SlotFile: the file in CACHE that holds cached blocks, one fixed-size slot
// each. Created mode 0600: it holds copies of other users' data.
//
// Thread safety: immutable after Open(); fd() may be used from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "wtcachefs/cache_space.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

class SlotFile {
 public:
  // Opens or creates `path` sized slot_count * block_size. A reserved cache
  // allocates the space up front so that it never fails an operation for lack
  // of room (DESIGN W7); an elastic one leaves the file sparse.
  static Result<SlotFile> Open(const std::string& path, uint64_t slot_count,
                               uint32_t block_size, CacheSpace space);

  int fd() const { return fd_.get(); }
  off_t OffsetOf(uint64_t slot) const { return static_cast<off_t>(slot * block_size_); }
  uint32_t block_size() const { return block_size_; }
  uint64_t slot_count() const { return slot_count_; }
  // Cuts the file to slot_count slots if it is longer (a cache made smaller).
  Status TrimToSize();
  // Gives the room of free slots back to the file system: `slots` (sorted
  // ascending; `discarded` is set to how many leading ones lost their data),
  // or every slot from `first` on.
  Status Discard(std::span<const uint32_t> slots, size_t* discarded);
  Status DiscardFrom(uint64_t first);

 private:
  SlotFile(UniqueFd fd, uint64_t slot_count, uint32_t block_size)
      : fd_(std::move(fd)), slot_count_(slot_count), block_size_(block_size) {}

  UniqueFd fd_;
  uint64_t slot_count_;
  uint32_t block_size_;
};

}  // namespace wtcachefs
