// SPDX-License-Identifier: Apache-2.0
// GhostList: the blocks a policy evicted recently, newest first, remembered
// by a 32-bit fingerprint of their key (ARC's B1/B2, 2Q's A1out). A ghost
// costs about 9 bytes: its fingerprint in a ring buffer in eviction order and
// its ring position in an IndexTable. A ghost hit leaves a hole in the ring
// (a position the table no longer names); when holes fill the ring, it is
// compacted (amortised O(1) per operation).
//
// Blocks of one file never share a fingerprint (it is a bijection of the block
// number for a given object). Blocks of two files do with probability 2^-32
// per pair: a miss of such a block counts as the other's return, which only
// steers the policy's adaptation, never which bytes are served.
//
// Thread safety: none; the policy's caller serialises.
#pragma once

#include <cstdint>
#include <vector>

#include "wtcachefs/block_key.h"
#include "wtcachefs/index_table.h"

namespace wtcachefs {

class GhostList {
 public:
  static uint32_t FingerprintOf(const BlockKey& key);

  uint64_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

  // Remembers `fingerprint` as the newest ghost.
  void PushFront(uint32_t fingerprint);
  // Forgets the ghost `fingerprint` (it came back); false when there is none.
  bool Remove(uint32_t fingerprint);
  // Forgets the oldest ghost; false when there is none.
  bool PopBack();

  uint64_t memory_bytes() const {
    return ring_.capacity() * sizeof(uint32_t) + table_.memory_bytes();
  }

 private:
  static uint64_t HashOf(uint32_t fingerprint) { return Mix64(fingerprint); }
  auto RingHash() const {
    return [this](uint32_t index) { return HashOf(ring_[index]); };
  }
  uint64_t RingIndex(uint64_t offset) const { return (tail_ + offset) % ring_.size(); }
  // Whether ring position `index` holds a live ghost (else it is a hole).
  bool IsLive(uint64_t index) const;
  void SkipHoles();
  // Moves the live ghosts, oldest first, to a new ring with room to spare.
  void Compact();

  std::vector<uint32_t> ring_;  // fingerprints, holes included
  uint64_t tail_ = 0;           // index of the oldest entry
  uint64_t span_ = 0;           // entries from tail_ on, holes included
  uint64_t live_ = 0;
  IndexTable table_{0};         // ring index of every live ghost
};

}  // namespace wtcachefs
