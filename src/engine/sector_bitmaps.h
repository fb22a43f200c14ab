// SPDX-License-Identifier: Apache-2.0
// SectorBitmaps: the sector validity of every slot (DESIGN §3), packed into
// one array: a block of S sectors costs S bits rounded up to a power of two
// (1 bit at 4 KiB blocks, 2 bytes at the default 64 KiB, 128 bytes at 4 MiB),
// with no allocation per block.
//
// Thread safety: none; BlockIndex serialises.
#pragma once

#include <cstdint>
#include <vector>

#include "wtcachefs/block_index.h"

namespace wtcachefs {

class SectorBitmaps {
 public:
  SectorBitmaps(uint64_t slots, uint32_t sectors_per_block);

  SectorSet Get(uint64_t slot) const;
  void Assign(uint64_t slot, const SectorSet& valid);
  void Set(uint64_t slot, uint32_t first, uint32_t count) { Change(slot, first, count, true); }
  void Clear(uint64_t slot, uint32_t first, uint32_t count) { Change(slot, first, count, false); }
  void ClearAll(uint64_t slot);
  bool None(uint64_t slot) const;
  void Prefetch(uint64_t slot) const { __builtin_prefetch(&words_[FirstBit(slot) / 64], 1); }

  uint64_t memory_bytes() const { return words_.capacity() * sizeof(uint64_t); }

 private:
  void Change(uint64_t slot, uint32_t first, uint32_t count, bool valid);
  uint64_t FirstBit(uint64_t slot) const { return slot * stride_; }

  const uint32_t sectors_;
  const uint32_t stride_;  // bits per slot: a power of two; a multiple of 64 past 64
  std::vector<uint64_t> words_;
};

}  // namespace wtcachefs
