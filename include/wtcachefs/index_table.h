// SPDX-License-Identifier: Apache-2.0
// IndexTable: a hash index of 32-bit references (slot numbers, ring positions)
// into arrays its owner keeps. The keys stay in the owner's arrays, so an entry
// costs 4 bytes, 4.5 at the table's load limit of 8/9 (DESIGN §3: the in-memory
// index of every cached block must stay small; a std::unordered_map node costs
// over 40 bytes).
//
// Robin Hood linear probing: an entry never sits farther from its home cell
// than the entries it passed, so a lookup of a missing key stops early even at
// a high load, and erase shifts the run back (no tombstones, however many
// inserts and erases a long-running cache makes). The owner passes the hash
// of the key it looks up (Mix64 of it), a function giving the key hash of any
// reference in the table, and on lookup a predicate telling whether a
// reference holds the key.
//
// Thread safety: none; the owner serialises every call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
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
      : capacity_(capacity), cells_(capacity + capacity / 8 + 1, kNone) {}

  uint64_t capacity() const { return capacity_; }
  uint64_t memory_bytes() const {
    return (cells_.capacity() + homes_.capacity()) * sizeof(uint32_t);
  }

  // The reference with key hash `hash` that `holds_key` accepts, or kNone.
  template <class HoldsKey, class HashOf>
  uint32_t Find(uint64_t hash, HoldsKey holds_key, HashOf hash_of) const {
    const uint64_t home = Home(hash);
    for (uint64_t i = home, distance = 0;; i = Next(i), ++distance) {
      const uint32_t ref = cells_[i];
      if (ref == kNone) return kNone;
      if (homes_.empty()) {
        const uint64_t ref_hash = hash_of(ref);
        if (ref_hash == hash && holds_key(ref)) return ref;
        // Robin Hood: the key would have taken this cell from a closer entry.
        if (Distance(i, Home(ref_hash)) < distance) return kNone;
      } else if (homes_[i] == home && holds_key(ref)) {
        return ref;  // (a bulk load's runs are unordered: no early stop)
      }
    }
  }

  // Adds `ref`, whose key hashes to `hash`. The caller keeps the count of
  // references within capacity().
  template <class HashOf>
  void Insert(uint64_t hash, uint32_t ref, HashOf hash_of) {
    uint64_t home = Home(hash);
    if (!homes_.empty()) {
      // A bulk load places at the first free cell; EndBulkLoad orders the runs.
      uint64_t i = home;
      while (cells_[i] != kNone) i = Next(i);
      cells_[i] = ref;
      homes_[i] = static_cast<uint32_t>(home);
      return;
    }
    for (uint64_t i = home, distance = 0;; i = Next(i), ++distance) {
      if (cells_[i] == kNone) {
        cells_[i] = ref;
        return;
      }
      const uint64_t resident_home = HomeOfCell(i, hash_of);
      const uint64_t resident_distance = Distance(i, resident_home);
      if (resident_distance < distance) {
        // Take the cell; carry on placing the entry that held it.
        std::swap(cells_[i], ref);
        home = resident_home;
        distance = resident_distance;
      }
    }
  }

  // Removes `ref` (key hash `hash`). False when `ref` was not in the table.
  template <class HashOf>
  bool Erase(uint64_t hash, uint32_t ref, HashOf hash_of) {
    EndBulkLoad();
    uint64_t hole = Home(hash);
    for (uint64_t distance = 0; cells_[hole] != ref; hole = Next(hole), ++distance) {
      if (cells_[hole] == kNone || Distance(hole, HomeOfCell(hole, hash_of)) < distance) {
        return false;
      }
    }
    // Shift the rest of the run back by one, up to an empty cell or an entry
    // already at home.
    for (uint64_t j = Next(hole); cells_[j] != kNone && HomeOfCell(j, hash_of) != j; j = Next(j)) {
      cells_[hole] = cells_[j];
      hole = j;
    }
    cells_[hole] = kNone;
    return true;
  }

  // Fetches the cells a key hashing to `hash` starts at into the CPU cache.
  void Prefetch(uint64_t hash) const {
    const uint64_t home = Home(hash);
    __builtin_prefetch(&cells_[home]);
    if (!homes_.empty()) __builtin_prefetch(&homes_[home]);
  }

  // A bulk load (a mount restoring every mapping): until EndBulkLoad the table
  // keeps each cell's home too (4 more bytes per cell, freed after) and
  // inserts take the first free cell, so an insert reads no key of the entries
  // it passes (each would be a random read of the owner's key array).
  // EndBulkLoad then puts every run in Robin Hood order in one sequential pass.
  // Erase ends a bulk load first.
  template <class HashOf>
  void BeginBulkLoad(HashOf hash_of) {
    if (!homes_.empty()) return;
    homes_.assign(cells_.size(), 0);
    for (uint64_t i = 0; i < cells_.size(); ++i) {
      if (cells_[i] != kNone) homes_[i] = static_cast<uint32_t>(Home(hash_of(cells_[i])));
    }
  }
  void EndBulkLoad() {
    if (homes_.empty()) return;
    OrderRuns();
    std::vector<uint32_t>().swap(homes_);
  }

 private:
  uint64_t Home(uint64_t hash) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(hash) * cells_.size()) >> 64);
  }
  uint64_t Next(uint64_t i) const { return i + 1 == cells_.size() ? 0 : i + 1; }
  // How far cell `i` is from cell `home` (probing wraps around the end).
  uint64_t Distance(uint64_t i, uint64_t home) const {
    return i >= home ? i - home : i + cells_.size() - home;
  }
  // Sorts every run (cells between two free ones) by home, counted from the
  // run's first cell: the Robin Hood order, in which no entry sits before its
  // home. A run starting after a free cell holds no entry whose home precedes
  // it, so this needs no key. The table always has a free cell.
  void OrderRuns() {
    const uint64_t n = cells_.size();
    uint64_t free_cell = 0;
    while (cells_[free_cell] != kNone) ++free_cell;
    std::vector<std::pair<uint64_t, uint32_t>> run;  // home's offset in the run, reference
    uint64_t run_first = 0;
    for (uint64_t k = 1; k <= n; ++k) {
      const uint64_t i = (free_cell + k) % n;
      if (cells_[i] != kNone) {
        if (run.empty()) run_first = i;
        run.emplace_back(Distance(homes_[i], run_first), cells_[i]);
        continue;
      }
      std::sort(run.begin(), run.end());
      for (uint64_t r = 0; r < run.size(); ++r) cells_[(run_first + r) % n] = run[r].second;
      run.clear();
    }
  }
  template <class HashOf>
  uint64_t HomeOfCell(uint64_t i, HashOf hash_of) const {
    return homes_.empty() ? Home(hash_of(cells_[i])) : homes_[i];
  }

  uint64_t capacity_;
  std::vector<uint32_t> cells_;
  std::vector<uint32_t> homes_;  // during a bulk load only
};

}  // namespace wtcachefs
