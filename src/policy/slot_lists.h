// SlotLists: a policy's recency lists of cached blocks, threaded through
// arrays indexed by slot number (dm-cache smq's layout: 32-bit indices instead
// of pointers). A slot is in at most one list; front = most recent. Memory is
// fixed: 9 bytes per slot of the cache.
//
// Thread safety: none; the policy's caller serialises.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace wtcachefs {

class SlotLists {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint8_t kNoList = 0;
  static constexpr uint8_t kMaxLists = 3;  // list ids 1..kMaxLists

  explicit SlotLists(uint64_t slots) : links_(slots), list_of_(slots, kNoList) {}

  uint64_t slots() const { return links_.size(); }
  uint8_t ListOf(uint32_t slot) const { return list_of_[slot]; }
  bool Contains(uint8_t list, uint32_t slot) const { return list_of_[slot] == list; }
  uint64_t size(uint8_t list) const { return ends_[list].size; }
  bool empty(uint8_t list) const { return ends_[list].size == 0; }

  // Puts `slot` at the front of `list`, taking it out of any list first.
  void PushFront(uint8_t list, uint32_t slot);
  // Takes `slot` out of its list; false when it was in none.
  bool Remove(uint32_t slot);
  // Takes `slot` out of `list` only; false when it was not there.
  bool RemoveFrom(uint8_t list, uint32_t slot) {
    return list_of_[slot] == list && Remove(slot);
  }

  // The least recent slot of `list` that `accept` takes, or kNone.
  template <class Accept>
  uint32_t OldestAccepted(uint8_t list, Accept accept) const {
    for (uint32_t s = ends_[list].back; s != kNone; s = links_[s].prev) {
      if (accept(s)) return s;
    }
    return kNone;
  }

  uint64_t memory_bytes() const {
    return links_.capacity() * sizeof(Links) + list_of_.capacity();
  }

 private:
  struct Links {
    uint32_t prev = kNone;  // towards the front
    uint32_t next = kNone;  // towards the back
  };
  struct Ends {
    uint32_t front = kNone;
    uint32_t back = kNone;
    uint64_t size = 0;
  };

  std::vector<Links> links_;
  std::vector<uint8_t> list_of_;
  std::array<Ends, kMaxLists + 1> ends_{};
};

}  // namespace wtcachefs
