// SPDX-License-Identifier: Apache-2.0
// IntentLog: regions of objects that may have writes in flight or not yet durable
// on origin (DESIGN W4, like md's write-intent bitmap). A region is marked
// durably before the first write to it is submitted and stays marked while
// writes continue, so the write path touches metadata only on a region's first
// write after it was cleared. Marks are cleared once origin and cache are known
// durable for the object (fsync, clean shutdown). After a crash, every block in
// a marked region is dropped.
//
// The write lease: while marks exist, every commit that marks a region, and
// every group commit, also records until when the daemon may change origin
// files (now plus the lease's length, on origin's wall clock). After a crash,
// a marked object whose origin changed no later than the lease is taken to have
// changed by the daemon's own writes (docs/architecture.md, "Warm after a
// crash").
//
// Thread safety: all methods may be called concurrently. Marking serialises on
// one mutex while it commits (first writes only).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "wtcachefs/meta_store.h"

namespace wtcachefs {

class IntentLog {
 public:
  // Blocks per region: 256 blocks (16 MiB at the default block size).
  static constexpr uint64_t kBlocksPerRegion = 256;

  // `lease_ns`: the write lease's length.
  IntentLog(MetaStore& store, int64_t lease_ns) : store_(store), lease_ns_(lease_ns) {}

  // Loads marks left by a previous mount (they name what recovery must drop)
  // and the write lease it committed last (LoadedLease()).
  Status Load();
  // The lease Load() found: nullopt when none was ever committed.
  std::optional<int64_t> LoadedLease() const { return loaded_lease_; }
  // Adds a renewal of the write lease to `batch` while any region is marked.
  void RenewLeaseInto(MetaBatch& batch) const;
  bool IsMarked(uint64_t object_id, uint64_t block) const;
  // True when blocks [first_block, end_block) are marked already, so that
  // MarkForWrite() would commit nothing; false, without waiting, when another
  // thread is committing marks.
  bool AllMarkedNow(uint64_t object_id, uint64_t first_block, uint64_t end_block) const;
  // The marks as loaded or made, as (object, region) pairs.
  std::vector<std::pair<uint64_t, uint64_t>> Marks() const;

  // Durably marks the regions holding blocks [first_block, end_block) of the
  // object before a write to them is submitted.
  Status MarkForWrite(uint64_t object_id, uint64_t first_block, uint64_t end_block);
  // Adds the deletion of the object's marks (or all marks) to `batch`; call
  // Forget* once that batch is durable.
  std::vector<std::pair<uint64_t, uint64_t>> ClearInto(MetaBatch& batch, uint64_t object_id);
  std::vector<std::pair<uint64_t, uint64_t>> ClearAllInto(MetaBatch& batch);
  void Forget(const std::vector<std::pair<uint64_t, uint64_t>>& marks);

 private:
  MetaStore& store_;
  const int64_t lease_ns_;
  std::optional<int64_t> loaded_lease_;  // set by Load(), before anything else runs
  mutable std::mutex mutex_;
  std::set<std::pair<uint64_t, uint64_t>> marks_;  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
