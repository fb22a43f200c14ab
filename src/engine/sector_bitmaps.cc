// SPDX-License-Identifier: Apache-2.0
#include "engine/sector_bitmaps.h"

#include <algorithm>
#include <bit>

namespace wtcachefs {

SectorBitmaps::SectorBitmaps(uint64_t slots, uint32_t sectors_per_block)
    : sectors_(sectors_per_block),
      stride_(std::bit_ceil(std::max<uint32_t>(1, sectors_per_block))),
      words_((slots * stride_ + 63) / 64, 0) {}

SectorSet SectorBitmaps::Get(uint64_t slot) const {
  SectorSet set(sectors_);
  for (uint32_t s = 0; s < sectors_; ++s) {
    const uint64_t bit = FirstBit(slot) + s;
    if ((words_[bit / 64] >> (bit % 64)) & 1) set.Set(s, 1);
  }
  return set;
}

void SectorBitmaps::Assign(uint64_t slot, const SectorSet& valid) {
  if (stride_ < 64 && valid.size() == sectors_) {
    // The whole bitmap sits in one word: one masked store.
    const uint64_t bit = FirstBit(slot);
    const uint64_t mask = ((uint64_t{1} << stride_) - 1) << (bit % 64);
    const uint64_t bits = valid.size() == 0 ? 0 : valid.Word(0) << (bit % 64);
    words_[bit / 64] = (words_[bit / 64] & ~mask) | (bits & mask);
    return;
  }
  ClearAll(slot);
  for (uint32_t s = 0; s < sectors_ && s < valid.size(); ++s) {
    if (valid.Test(s)) Set(slot, s, 1);
  }
}

void SectorBitmaps::Change(uint64_t slot, uint32_t first, uint32_t count, bool valid) {
  const uint32_t end = std::min<uint64_t>(sectors_, uint64_t{first} + count);
  for (uint32_t s = first; s < end; ++s) {
    const uint64_t bit = FirstBit(slot) + s;
    const uint64_t mask = uint64_t{1} << (bit % 64);
    if (valid) {
      words_[bit / 64] |= mask;
    } else {
      words_[bit / 64] &= ~mask;
    }
  }
}

void SectorBitmaps::ClearAll(uint64_t slot) { Change(slot, 0, sectors_, false); }

bool SectorBitmaps::None(uint64_t slot) const {
  if (stride_ >= 64) {
    const uint64_t first = FirstBit(slot) / 64;
    return std::all_of(words_.begin() + static_cast<ptrdiff_t>(first),
                       words_.begin() + static_cast<ptrdiff_t>(first + stride_ / 64),
                       [](uint64_t w) { return w == 0; });
  }
  const uint64_t bit = FirstBit(slot);
  const uint64_t mask = ((uint64_t{1} << stride_) - 1) << (bit % 64);
  return (words_[bit / 64] & mask) == 0;
}

}  // namespace wtcachefs
