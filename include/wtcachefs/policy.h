// ReplacementPolicy: which cached block leaves when the cache is full (DESIGN
// W7). The daemon's BlockIndex and the trace simulator (wtcachefs-sim) drive the
// same implementations with the same calls:
//   a lookup that finds the block cached      OnHit(key)
//   a lookup that does not                    OnMiss(key)   (ghosts, adaptation)
//   the block is given a slot                 OnInsert(key)
//   the cache is full and a slot is needed    Victim(evictable), then OnEvict(it)
//   the block leaves for another reason       OnRemove(key) (invalidated, dropped)
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

  virtual void OnHit(const BlockKey& key) = 0;
  virtual void OnMiss(const BlockKey& key) = 0;
  virtual void OnInsert(const BlockKey& key) = 0;
  virtual void OnRemove(const BlockKey& key) = 0;
  // The block to evict first among those `evictable` accepts (it refuses
  // pinned ones); nullopt when there is none.
  virtual std::optional<BlockKey> Victim(
      const std::function<bool(const BlockKey&)>& evictable) = 0;
  virtual void OnEvict(const BlockKey& key) = 0;
};

enum class PolicyKind { kLru, kTwoQueue, kArc };

// The default: ARC matched or beat LRU and 2Q on every trace of docs/policy.md
// and kept a hot set through scans (wtcachefs-sim report).
inline constexpr PolicyKind kDefaultPolicy = PolicyKind::kArc;

// A policy for a cache of `capacity` blocks.
std::unique_ptr<ReplacementPolicy> MakePolicy(PolicyKind kind, uint64_t capacity);
// "lru", "2q", "arc".
std::string_view PolicyName(PolicyKind kind);
std::optional<PolicyKind> PolicyByName(std::string_view name);

}  // namespace wtcachefs
