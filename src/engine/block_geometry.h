// SPDX-License-Identifier: Apache-2.0
// How a byte range of a file falls onto cache blocks and 4 KiB sectors.
//
// Thread safety: pure functions.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wtcachefs/meta_records.h"

namespace wtcachefs {

// The part of a request inside one block: bytes [begin, end) of block `block`,
// at `buffer_offset` in the caller's buffer.
struct BlockPiece {
  uint64_t block;
  uint32_t begin;
  uint32_t end;
  size_t buffer_offset;

  // Sectors touched, fully or partly: [first_sector, end_sector).
  uint32_t first_sector() const { return begin / kSectorSize; }
  uint32_t end_sector() const { return (end + kSectorSize - 1) / kSectorSize; }
  uint32_t touched_sectors() const { return end_sector() - first_sector(); }
  // Sectors covered completely: [first_full_sector, end_full_sector).
  uint32_t first_full_sector() const { return (begin + kSectorSize - 1) / kSectorSize; }
  uint32_t end_full_sector() const { return end / kSectorSize; }
  uint32_t full_sectors() const {
    return end_full_sector() > first_full_sector() ? end_full_sector() - first_full_sector() : 0;
  }
  size_t length() const { return end - begin; }
};

inline std::vector<BlockPiece> SplitIntoBlocks(uint64_t offset, size_t length,
                                               uint32_t block_size) {
  std::vector<BlockPiece> pieces;
  size_t done = 0;
  while (done < length) {
    const uint64_t position = offset + done;
    const uint64_t block = position / block_size;
    const uint32_t begin = static_cast<uint32_t>(position % block_size);
    const size_t take = std::min<size_t>(length - done, block_size - begin);
    pieces.push_back(BlockPiece{block, begin, static_cast<uint32_t>(begin + take), done});
    done += take;
  }
  return pieces;
}

}  // namespace wtcachefs
