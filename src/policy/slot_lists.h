// SPDX-License-Identifier: Apache-2.0
// SlotLists: a policy's recency lists of cached blocks, threaded through
// arrays indexed by slot number (dm-cache smq's layout: 32-bit indices instead
// of pointers). A slot is in at most one list; front = most recent. Memory is
// fixed: 8 bytes per slot of the cache, the list a slot is in kept in the top
// bits of its links (so at most kMaxSlots slots).
//
// Thread safety: none; the policy's caller serialises.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace wtcachefs {

class SlotLists {
 public:
  static constexpr uint32_t kNone = (1u << 31) - 1;
  static constexpr uint64_t kMaxSlots = kNone;  // slots 0 .. kNone - 1
  static constexpr uint8_t kNoList = 0;
  static constexpr uint8_t kMaxLists = 3;  // list ids 1..kMaxLists

  explicit SlotLists(uint64_t slots) : links_(slots) {}

  uint8_t ListOf(uint32_t slot) const { return links_[slot].list(); }
  bool Contains(uint8_t list, uint32_t slot) const { return ListOf(slot) == list; }
  uint64_t size(uint8_t list) const { return ends_[list].size; }
  bool empty(uint8_t list) const { return ends_[list].size == 0; }

  // Puts `slot` at the front of `list`, taking it out of any list first.
  void PushFront(uint8_t list, uint32_t slot);
  // Takes `slot` out of its list; false when it was in none.
  bool Remove(uint32_t slot);
  // Takes `slot` out of `list` only; false when it was not there.
  bool RemoveFrom(uint8_t list, uint32_t slot) {
    return ListOf(slot) == list && Remove(slot);
  }

  // The least recent slot of `list` that `accept` takes, or kNone.
  template <class Accept>
  uint32_t OldestAccepted(uint8_t list, Accept accept) const {
    for (uint32_t s = ends_[list].back; s != kNone; s = links_[s].prev()) {
      if (accept(s)) return s;
    }
    return kNone;
  }

  void Prefetch(uint32_t slot) const { __builtin_prefetch(&links_[slot], 1); }
  uint64_t memory_bytes() const { return links_.capacity() * sizeof(Links); }

 private:
  // A slot's neighbours (31 bits each) and its list (one bit in each word).
  struct Links {
    uint32_t prev_word = kNone;  // towards the front
    uint32_t next_word = kNone;  // towards the back

    uint32_t prev() const { return prev_word & kNone; }
    uint32_t next() const { return next_word & kNone; }
    uint8_t list() const { return static_cast<uint8_t>((prev_word >> 31) | (next_word >> 31) << 1); }
    void set_prev(uint32_t slot) { prev_word = (prev_word & ~kNone) | slot; }
    void set_next(uint32_t slot) { next_word = (next_word & ~kNone) | slot; }
    void Set(uint32_t prev, uint32_t next, uint8_t list) {
      prev_word = prev | (uint32_t{list} & 1) << 31;
      next_word = next | (uint32_t{list} >> 1) << 31;
    }
  };
  struct Ends {
    uint32_t front = kNone;
    uint32_t back = kNone;
    uint64_t size = 0;
  };

  std::vector<Links> links_;
  std::array<Ends, kMaxLists + 1> ends_{};
};

}  // namespace wtcachefs
