// SPDX-License-Identifier: Apache-2.0
// RecordSweep (DESIGN W8): finds the records of files that no lookup will
// reach again, deleted behind the mount where the view never looked their
// name up afterwards, so that their blocks and records go too.
//
// A new object's record is kept with a file handle of its origin file (when
// ORIGIN's file system keeps handles for an object's whole life, and the
// file is on it). A step reads the next few records in id order, from where
// the last one ended (wrapping at the end), and reopens each file by its
// handle: ESTALE, or no link left, says it is gone (an open file then keeps
// its blocks until its last release, as after an unlink through the view). Records without a
// handle (other file systems, files created before handles were kept) are
// never found dead this way: their files are found at a lookup only.
//
// Reopening by handle needs CAP_DAC_READ_SEARCH: without it the sweep stops
// at its first refusal.
//
// Thread safety: HandleOf() from any thread; Step() from one thread at a time.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/object_table.h"
#include "wtcachefs/meta_store.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

class RecordSweep {
 public:
  // `origin_root`: ORIGIN's root directory, whose file system has `origin_dev`;
  // "" (an image origin) leaves the sweep off.
  RecordSweep(MetaStore& store, ObjectTable& objects, const std::string& origin_root,
              uint64_t origin_dev);

  // The handle to record for a new object of origin file `fd`, on device
  // `dev`; "" when the sweep could not use one.
  std::string HandleOf(int fd, uint64_t dev) const;

  // Looks at up to `limit` records; calls `gone` with the object of each
  // whose file is gone (made resident: the caller forgets it).
  Status Step(size_t limit, const std::function<void(const std::shared_ptr<CachedObject>&)>& gone);

  // Whether steps look at anything (handles are kept, and reopening was not refused).
  bool active() const { return root_.valid() && !refused_.load(); }

 private:
  MetaStore& store_;
  ObjectTable& objects_;
  const uint64_t origin_dev_;
  UniqueFd root_;  // on ORIGIN's file system, to reopen handles with; invalid: off
  std::atomic<bool> refused_{false};
  uint64_t cursor_ = 0;  // the id the next step starts at
};

}  // namespace wtcachefs
