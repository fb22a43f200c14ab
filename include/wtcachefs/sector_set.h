// SPDX-License-Identifier: Apache-2.0
// SectorSet: which 4 KiB sectors of a cached block hold origin's current
// bytes, and its on-disk form (BlockMapping::valid_sectors).
//
// Thread safety: a value; not synchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wtcachefs {

// A block's validity: bit i set = sector i holds the origin's current bytes.
class SectorSet {
 public:
  SectorSet() = default;
  explicit SectorSet(uint32_t sectors) : words_((sectors + 63) / 64, 0), sectors_(sectors) {}

  uint32_t size() const { return sectors_; }
  bool Test(uint32_t sector) const { return (words_[sector / 64] >> (sector % 64)) & 1; }
  void Set(uint32_t first, uint32_t count);
  void Clear(uint32_t first, uint32_t count);
  bool All(uint32_t first, uint32_t count) const;
  bool None() const;
  uint32_t Count() const;
  // Sectors 64i .. 64i+63 as bits.
  uint64_t Word(size_t i) const { return words_[i]; }
  // Little-endian bitmap bytes, ceil(size/8) long (the on-disk form).
  std::vector<uint8_t> ToBytes() const;
  static SectorSet FromBytes(const std::vector<uint8_t>& bytes, uint32_t sectors);

  bool operator==(const SectorSet&) const = default;

 private:
  std::vector<uint64_t> words_;
  uint32_t sectors_ = 0;
};

}  // namespace wtcachefs
