// KeyList: an ordered list of block keys with O(1) membership, move to front and
// removal; the building block of the replacement policies. Front = most recent.
#pragma once

#include <functional>
#include <list>
#include <optional>
#include <unordered_map>

#include "wtcachefs/block_key.h"

namespace wtcachefs {

class KeyList {
 public:
  bool Contains(const BlockKey& key) const { return where_.contains(key); }
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

  // Puts `key` at the front, moving it there if present.
  void PushFront(const BlockKey& key) {
    if (const auto it = where_.find(key); it != where_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.push_front(key);
    where_.emplace(key, order_.begin());
  }
  bool Remove(const BlockKey& key) {
    const auto it = where_.find(key);
    if (it == where_.end()) return false;
    order_.erase(it->second);
    where_.erase(it);
    return true;
  }
  // Removes and returns the back (least recent) key.
  std::optional<BlockKey> PopBack() {
    if (order_.empty()) return std::nullopt;
    const BlockKey key = order_.back();
    Remove(key);
    return key;
  }
  // The least recent key that `accept` takes, without removing it.
  std::optional<BlockKey> OldestAccepted(const std::function<bool(const BlockKey&)>& accept) const {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      if (accept(*it)) return *it;
    }
    return std::nullopt;
  }

 private:
  std::list<BlockKey> order_;
  std::unordered_map<BlockKey, std::list<BlockKey>::iterator, BlockKeyHash> where_;
};

}  // namespace wtcachefs
