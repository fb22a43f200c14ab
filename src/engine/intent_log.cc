// SPDX-License-Identifier: Apache-2.0
#include "engine/intent_log.h"

#include "engine/racy_fingerprint.h"

namespace wtcachefs {

Status IntentLog::Load() {
  std::lock_guard lock(mutex_);
  auto lease = store_.LoadWriteLease();
  if (!lease.ok()) return lease.status();
  loaded_lease_ = lease.value();
  return store_.ForEachIntent(
      [&](uint64_t object_id, uint64_t region) { marks_.emplace(object_id, region); });
}

void IntentLog::RenewLeaseInto(MetaBatch& batch) const {
  std::lock_guard lock(mutex_);
  if (!marks_.empty()) batch.PutWriteLease(OriginClockNs() + lease_ns_);
}

bool IntentLog::IsMarked(uint64_t object_id, uint64_t block) const {
  std::lock_guard lock(mutex_);
  return marks_.contains({object_id, block / kBlocksPerRegion});
}

std::vector<std::pair<uint64_t, uint64_t>> IntentLog::Marks() const {
  std::lock_guard lock(mutex_);
  return {marks_.begin(), marks_.end()};
}

bool IntentLog::AllMarkedNow(uint64_t object_id, uint64_t first_block,
                             uint64_t end_block) const {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  const uint64_t last_region = end_block == 0 ? 0 : (end_block - 1) / kBlocksPerRegion;
  for (uint64_t region = first_block / kBlocksPerRegion; region <= last_region; ++region) {
    if (!marks_.contains({object_id, region})) return false;
  }
  return true;
}

Status IntentLog::MarkForWrite(uint64_t object_id, uint64_t first_block, uint64_t end_block) {
  std::lock_guard lock(mutex_);
  MetaBatch batch;
  std::vector<std::pair<uint64_t, uint64_t>> added;
  const uint64_t last_region = end_block == 0 ? 0 : (end_block - 1) / kBlocksPerRegion;
  for (uint64_t region = first_block / kBlocksPerRegion; region <= last_region; ++region) {
    if (marks_.contains({object_id, region})) continue;
    batch.PutIntent(object_id, region);
    added.emplace_back(object_id, region);
  }
  if (added.empty()) return Status::Ok();
  batch.PutWriteLease(OriginClockNs() + lease_ns_);
  if (Status s = store_.Commit(batch, /*sync=*/true); !s.ok()) return s;
  marks_.insert(added.begin(), added.end());
  return Status::Ok();
}

std::vector<std::pair<uint64_t, uint64_t>> IntentLog::ClearInto(MetaBatch& batch,
                                                                uint64_t object_id) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<uint64_t, uint64_t>> cleared;
  for (auto it = marks_.lower_bound({object_id, 0});
       it != marks_.end() && it->first == object_id; ++it) {
    batch.DeleteIntent(it->first, it->second);
    cleared.push_back(*it);
  }
  return cleared;
}

std::vector<std::pair<uint64_t, uint64_t>> IntentLog::ClearAllInto(MetaBatch& batch) {
  std::lock_guard lock(mutex_);
  for (const auto& [object_id, region] : marks_) batch.DeleteIntent(object_id, region);
  return {marks_.begin(), marks_.end()};
}

void IntentLog::Forget(const std::vector<std::pair<uint64_t, uint64_t>>& marks) {
  std::lock_guard lock(mutex_);
  for (const auto& mark : marks) marks_.erase(mark);
}

}  // namespace wtcachefs
