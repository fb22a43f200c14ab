// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/sector_set.h"

#include <bit>

namespace wtcachefs {

void SectorSet::Set(uint32_t first, uint32_t count) {
  for (uint32_t s = first; s < first + count && s < sectors_; ++s) {
    words_[s / 64] |= uint64_t{1} << (s % 64);
  }
}

void SectorSet::Clear(uint32_t first, uint32_t count) {
  for (uint32_t s = first; s < first + count && s < sectors_; ++s) {
    words_[s / 64] &= ~(uint64_t{1} << (s % 64));
  }
}

bool SectorSet::All(uint32_t first, uint32_t count) const {
  if (first + count > sectors_) return false;
  for (uint32_t s = first; s < first + count; ++s) {
    if (!Test(s)) return false;
  }
  return true;
}

bool SectorSet::None() const {
  for (uint64_t w : words_) {
    if (w != 0) return false;
  }
  return true;
}

uint32_t SectorSet::Count() const {
  uint32_t n = 0;
  for (uint64_t w : words_) n += static_cast<uint32_t>(std::popcount(w));
  return n;
}

std::vector<uint8_t> SectorSet::ToBytes() const {
  std::vector<uint8_t> bytes((sectors_ + 7) / 8, 0);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(words_[i / 8] >> (8 * (i % 8)));
  }
  return bytes;
}

SectorSet SectorSet::FromBytes(const std::vector<uint8_t>& bytes, uint32_t sectors) {
  SectorSet set(sectors);
  for (size_t i = 0; i < bytes.size() && i < (sectors + 7) / 8; ++i) {
    set.words_[i / 8] |= uint64_t{bytes[i]} << (8 * (i % 8));
  }
  // Bits past `sectors` in the last byte are not sectors: never valid.
  if (sectors % 64 != 0 && !set.words_.empty()) {
    set.words_.back() &= (uint64_t{1} << (sectors % 64)) - 1;
  }
  return set;
}

}  // namespace wtcachefs
