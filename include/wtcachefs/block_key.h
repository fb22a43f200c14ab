// SPDX-License-Identifier: Apache-2.0
// BlockKey: block `block` (of the cache block size) of the origin file known to
// the engine as `object_id`.
#pragma once

#include <cstdint>
#include <functional>

namespace wtcachefs {

struct BlockKey {
  uint64_t object_id;
  uint64_t block;
  bool operator==(const BlockKey&) const = default;
};

struct BlockKeyHash {
  size_t operator()(const BlockKey& k) const {
    return std::hash<uint64_t>()(k.object_id * 0x9E3779B97F4A7C15ull ^ k.block);
  }
};

}  // namespace wtcachefs
