// IndexTable: a hash index of 32-bit references (slot numbers, ring positions)
// into arrays its owner keeps. The keys stay in the owner's arrays, so an entry
// costs 4 bytes, 5 at the table's load limit of 80% (DESIGN §3: the in-memory
// index of every cached block must stay small; a std::unordered_map node costs
// over 40 bytes).
//
// Linear probing with backward-shift deletion: no tombstones, so lookups stay
// short however many inserts and erases a long-running cache makes. The owner
// passes the hash of a reference's key (Mix64 of it) on every call, a predicate
// that tells whether a reference holds the key looked up, and on Erase a
// function giving the hash of any other reference (to move it back).
//
// Thread safety: none; the owner serialises every call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace wtcachefs {

// A 64-bit mix (the splitmix64 finaliser): every input bit affects every
// output bit, as IndexTable's slot choice (the high bits) needs.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class IndexTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Room for `capacity` references (at most kNone - 1 of them).
  explicit IndexTable(uint64_t capacity)
      : capacity_(capacity), cells_(capacity + capacity / 4 + 1, kNone) {}

  uint64_t capacity() const { return capacity_; }
  uint64_t memory_bytes() const { return cells_.capacity() * sizeof(uint32_t); }

  // The reference with key hash `hash` that `holds_key` accepts, or kNone.
  template <class HoldsKey>
  uint32_t Find(uint64_t hash, HoldsKey holds_key) const {
    for (uint64_t i = Home(hash);; i = Next(i)) {
      const uint32_t ref = cells_[i];
      if (ref == kNone || holds_key(ref)) return ref;
    }
  }

  // Adds `ref`, whose key hashes to `hash`. The caller keeps the count of
  // references within capacity().
  void Insert(uint64_t hash, uint32_t ref) {
    uint64_t i = Home(hash);
    while (cells_[i] != kNone) i = Next(i);
    cells_[i] = ref;
  }

  // Removes `ref` (key hash `hash`); `hash_of(other)` gives another
  // reference's key hash. False when `ref` was not in the table.
  template <class HashOf>
  bool Erase(uint64_t hash, uint32_t ref, HashOf hash_of) {
    uint64_t hole = Home(hash);
    while (cells_[hole] != ref) {
      if (cells_[hole] == kNone) return false;
      hole = Next(hole);
    }
    // Move back every later entry of the run that may live in the hole: one
    // whose home is not cyclically within (hole, j].
    for (uint64_t j = Next(hole); cells_[j] != kNone; j = Next(j)) {
      const uint64_t home = Home(hash_of(cells_[j]));
      const bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (stays) continue;
      cells_[hole] = cells_[j];
      hole = j;
    }
    cells_[hole] = kNone;
    return true;
  }

  void Clear() { std::fill(cells_.begin(), cells_.end(), kNone); }

 private:
  uint64_t Home(uint64_t hash) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(hash) * cells_.size()) >> 64);
  }
  uint64_t Next(uint64_t i) const { return i + 1 == cells_.size() ? 0 : i + 1; }

  uint64_t capacity_;
  std::vector<uint32_t> cells_;
};

}  // namespace wtcachefs
