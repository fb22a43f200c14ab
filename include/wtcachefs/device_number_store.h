// SPDX-License-Identifier: Apache-2.0
// DeviceNumberStore: where the view keeps, across mounts, the small number it
// gave each origin file system other than ORIGIN root's own (its st_dev), so
// that the view's inode numbers (src/fuse/view_inode_numbers.h) stay the same
// from one mount to the next. The cache engine keeps them in its metadata
// store; the view keeps its working copy in memory and asks this only to load
// the table at mount and to record a device it meets for the first time.
//
// Thread safety: implementations may be called from any thread.
#pragma once

#include <vector>

#include "wtcachefs/meta_records.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

class DeviceNumberStore {
 public:
  virtual ~DeviceNumberStore() = default;

  // Every number recorded so far (any order); an error when the table cannot be
  // read, or a record of it does not decode.
  virtual Result<std::vector<DeviceNumberRecord>> LoadDeviceNumbers() = 0;
  // Records `record` durably (on stable storage when this returns Ok); an
  // error when it cannot (a degraded cache, a failing store).
  virtual Status RecordDeviceNumber(const DeviceNumberRecord& record) = 0;
};

}  // namespace wtcachefs
