// SPDX-License-Identifier: Apache-2.0
// OriginFileKey: an origin object by its (st_dev, st_ino), the key the inode
// table, the engine's object table and the view's per-directory caches share.
#pragma once

#include <cstdint>
#include <functional>

namespace wtcachefs {

struct OriginFileKey {
  uint64_t dev;
  uint64_t ino;
  bool operator==(const OriginFileKey&) const = default;
};

struct OriginFileKeyHash {
  size_t operator()(const OriginFileKey& k) const {
    return std::hash<uint64_t>()(k.ino * 0x9E3779B97F4A7C15ull ^ k.dev);
  }
};

}  // namespace wtcachefs
