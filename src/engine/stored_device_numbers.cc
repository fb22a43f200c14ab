// SPDX-License-Identifier: Apache-2.0
#include "engine/stored_device_numbers.h"

#include <cerrno>

namespace wtcachefs {

Result<std::vector<DeviceNumberRecord>> StoredDeviceNumbers::LoadDeviceNumbers() {
  std::vector<DeviceNumberRecord> records;
  Status s =
      store_.ForEachDeviceNumber([&](DeviceNumberRecord&& record) { records.push_back(record); });
  if (!s.ok()) return s;
  return records;
}

Status StoredDeviceNumbers::RecordDeviceNumber(const DeviceNumberRecord& record) {
  if (degraded_) return Status::Error(EIO, "the cache is degraded");
  MetaBatch batch;
  batch.PutDeviceNumber(record);
  return store_.Commit(batch, /*sync=*/true);
}

}  // namespace wtcachefs
