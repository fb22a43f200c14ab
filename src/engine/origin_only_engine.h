// SPDX-License-Identifier: Apache-2.0
// OriginOnlyEngine: the data path of a view whose cache cannot be used at all
// at mount (its directory is gone, its file system is read-only, or its
// metadata cannot be opened or written): every call goes to origin, as in
// CacheEngine's degraded mode (DESIGN W3), so a writethrough cache never stands
// between its users and the origin. Setuid and setgid bits are cleared after
// data changes by the same rule as CacheEngine's (engine/privilege_bits.h).
// Nothing is cached, so the kernel keeps no page cache of a file across opens.
//
// Thread safety: as DataEngine. The listener is set before serving.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "wtcachefs/data_engine.h"

namespace wtcachefs {

class OriginOnlyEngine final : public DataEngine {
 public:
  // `reason`: why the cache is not used, for status.
  explicit OriginOnlyEngine(std::string reason) : reason_(std::move(reason)) {}

  const std::string& reason() const { return reason_; }

  Result<std::unique_ptr<OpenFile>> Open(UniqueFd origin_fd) override;
  void set_privilege_drop_listener(
      std::function<void(uint64_t dev, uint64_t ino)> listener) override {
    privilege_drop_listener_ = std::move(listener);
  }

 private:
  const std::string reason_;
  std::function<void(uint64_t dev, uint64_t ino)> privilege_drop_listener_;
};

}  // namespace wtcachefs
