// SPDX-License-Identifier: Apache-2.0
// StoredDeviceNumbers: the cache's DeviceNumberStore, kept in its metadata
// store. A record is written with a commit of its own, synchronously: a device
// is met for the first time rarely. While the engine is degraded (its store may
// be what failed) nothing is recorded, and the view hashes the numbers of the
// devices it meets then.
//
// Thread safety: all methods may be called from any thread (MetaStore's).
#pragma once

#include <atomic>
#include <vector>

#include "wtcachefs/device_number_store.h"
#include "wtcachefs/meta_store.h"

namespace wtcachefs {

class StoredDeviceNumbers final : public DeviceNumberStore {
 public:
  // `store` and `degraded` (the engine's mode) must outlive this.
  StoredDeviceNumbers(MetaStore& store, const std::atomic<bool>& degraded)
      : store_(store), degraded_(degraded) {}

  Result<std::vector<DeviceNumberRecord>> LoadDeviceNumbers() override;
  Status RecordDeviceNumber(const DeviceNumberRecord& record) override;

 private:
  MetaStore& store_;
  const std::atomic<bool>& degraded_;
};

}  // namespace wtcachefs
