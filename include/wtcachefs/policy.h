// SPDX-License-Identifier: Apache-2.0
// ReplacementPolicy: which cached block leaves when the cache is full (DESIGN
// W7). The daemon's BlockIndex and the trace simulator (wtcachefs-sim) drive the
// same implementations with the same calls. A cached block is named by its slot
// (0 .. capacity-1), so a policy keeps its lists in arrays indexed by slot;
// the key is passed where a policy remembers blocks that are not cached
// (ghosts):
//   a lookup that finds the block cached      OnHit(slot)
//   a lookup that does not                    OnMiss(key)   (ghosts, adaptation)
//   the block is given a slot                 OnInsert(slot, key)
//   the cache is full and a slot is needed    Victim(evictable), then OnEvict(slot, key)
//   the block leaves for another reason       OnRemove(slot, key) (invalidated, dropped)
// OnInsert of a key not announced by OnMiss (a write-allocate) is a cold block.
//
// Policies:
//  - lru: least recently used.
//  - 2q: Johnson and Shasha's 2Q. New blocks enter a FIFO (a quarter of the
//    cache); only a block asked for again after leaving it (remembered in a
//    ghost list of half the cache's size) reaches the LRU main queue, so a scan
//    of blocks used once passes through the FIFO without flushing the hot set.
//  - arc: Megiddo and Modha's Adaptive Replacement Cache: recency and frequency
//    lists whose balance adapts to hits in their ghost lists.
//
// Memory (the index's budget is 32 bytes per cached block, everything
// counted): lists cost 8 bytes per slot, a ghost about 9 (policy/ghost_list.h).
//
// Thread safety: none; the caller serialises every call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "wtcachefs/block_key.h"

namespace wtcachefs {

class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;

  virtual void OnHit(uint32_t slot) = 0;
  virtual void OnMiss(const BlockKey& key) = 0;
  virtual void OnInsert(uint32_t slot, const BlockKey& key) = 0;
  virtual void OnRemove(uint32_t slot, const BlockKey& key) = 0;
  // The slot to evict first among those `evictable` accepts (it refuses
  // pinned ones); nullopt when there is none.
  virtual std::optional<uint32_t> Victim(const std::function<bool(uint32_t)>& evictable) = 0;
  // `slot` held `key`, and leaves.
  virtual void OnEvict(uint32_t slot, const BlockKey& key) = 0;
  // A hint: OnInsert(slot) comes soon (fetch what it touches).
  virtual void Prefetch(uint32_t slot) const { (void)slot; }
  // Heap memory the policy holds.
  virtual uint64_t memory_bytes() const = 0;
};

enum class PolicyKind { kLru, kTwoQueue, kArc };

// The default: ARC matched or beat LRU and 2Q on every trace of docs/policy.md
// and kept a hot set through scans (wtcachefs-sim report).
inline constexpr PolicyKind kDefaultPolicy = PolicyKind::kArc;

// A policy for a cache of `capacity` blocks (slots 0 .. capacity-1).
std::unique_ptr<ReplacementPolicy> MakePolicy(PolicyKind kind, uint64_t capacity);
// "lru", "2q", "arc".
std::string_view PolicyName(PolicyKind kind);
std::optional<PolicyKind> PolicyByName(std::string_view name);

}  // namespace wtcachefs
