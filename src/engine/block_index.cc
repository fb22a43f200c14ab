#include "wtcachefs/block_index.h"

#include <algorithm>
#include <bit>

namespace wtcachefs {

void SectorSet::Set(uint32_t first, uint32_t count) {
  for (uint32_t s = first; s < first + count && s < sectors_; ++s) {
    words_[s / 64] |= uint64_t{1} << (s % 64);
  }
}

void SectorSet::Clear(uint32_t first, uint32_t count) {
  for (uint32_t s = first; s < first + count && s < sectors_; ++s) {
    words_[s / 64] &= ~(uint64_t{1} << (s % 64));
  }
}

bool SectorSet::All(uint32_t first, uint32_t count) const {
  if (first + count > sectors_) return false;
  for (uint32_t s = first; s < first + count; ++s) {
    if (!Test(s)) return false;
  }
  return true;
}

bool SectorSet::None() const {
  for (uint64_t w : words_) {
    if (w != 0) return false;
  }
  return true;
}

uint32_t SectorSet::Count() const {
  uint32_t n = 0;
  for (uint64_t w : words_) n += static_cast<uint32_t>(std::popcount(w));
  return n;
}

std::vector<uint8_t> SectorSet::ToBytes() const {
  std::vector<uint8_t> bytes((sectors_ + 7) / 8, 0);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(words_[i / 8] >> (8 * (i % 8)));
  }
  return bytes;
}

SectorSet SectorSet::FromBytes(const std::vector<uint8_t>& bytes, uint32_t sectors) {
  SectorSet set(sectors);
  for (size_t i = 0; i < bytes.size() && i < (sectors + 7) / 8; ++i) {
    set.words_[i / 8] |= uint64_t{bytes[i]} << (8 * (i % 8));
  }
  // Bits past `sectors` in the last byte are not sectors: never valid.
  if (sectors % 64 != 0 && !set.words_.empty()) {
    set.words_.back() &= (uint64_t{1} << (sectors % 64)) - 1;
  }
  return set;
}

BlockIndex::BlockIndex(uint64_t slot_count, uint32_t sectors_per_block, PolicyKind policy,
                       uint32_t promote_after)
    : slot_count_(slot_count),
      sectors_per_block_(sectors_per_block),
      slots_(slot_count),
      reserve_(std::max<uint64_t>(1, slot_count / 64)),
      policy_(MakePolicy(policy, slot_count)),
      promotion_filter_(promote_after, 4 * slot_count) {
  free_list_.reserve(slot_count);
  for (uint64_t s = slot_count; s > 0; --s) free_list_.push_back(s - 1);
}

std::optional<PinnedBlock> BlockIndex::PinForRead(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end()) return std::nullopt;
  policy_->OnHit(key);
  return PinLocked(it->second);
}

void BlockIndex::Unpin(uint64_t number) {
  std::lock_guard lock(mutex_);
  UnpinLocked(number);
}

std::optional<PinnedBlock> BlockIndex::BeginPromotion(const BlockKey& key, bool filtered) {
  std::lock_guard lock(mutex_);
  if (uncached_writes_.contains(key)) return std::nullopt;
  uint64_t number;
  if (const auto it = slot_of_.find(key); it != slot_of_.end()) {
    number = it->second;
    const Slot& slot = slots_[number];
    if (slot.promoting || slot.writers > 0) return std::nullopt;
  } else {
    policy_->OnMiss(key);
    if (filtered && !promotion_filter_.OnMiss(key)) return std::nullopt;
    const auto allocated = AllocateLocked(key);
    if (!allocated) return std::nullopt;
    number = *allocated;
  }
  slots_[number].promoting = true;
  return PinLocked(number);
}

bool BlockIndex::EndPromotion(const BlockKey& key, const PinnedBlock& pinned,
                              uint32_t first_sector, uint32_t count, bool copied) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[pinned.slot];
  const auto it = slot_of_.find(key);
  const bool still_owned = it != slot_of_.end() && it->second == pinned.slot;
  const bool unchanged = still_owned && slot.stamp == pinned.stamp;
  if (still_owned) slot.promoting = false;
  if (unchanged) {
    if (copied) {
      slot.valid.Set(first_sector, count);
      slot.stamp = NextStamp();
      MarkDirtyLocked(key);
    }
  }
  UnpinLocked(pinned.slot);
  return unchanged && copied;
}

std::optional<PinnedBlock> BlockIndex::BeginWrite(const BlockKey& key, bool allocate) {
  std::lock_guard lock(mutex_);
  uint64_t number;
  if (const auto it = slot_of_.find(key); it != slot_of_.end()) {
    number = it->second;
    policy_->OnHit(key);
    if (slots_[number].promoting) {
      // The promotion may land older bytes in the slot after ours: drop the
      // block so its EndPromotion installs nothing; this write goes to origin.
      UnmapLocked(slots_[number]);
      ReleaseIfIdleLocked(number);
      ++uncached_writes_[key];
      return std::nullopt;
    }
  } else {
    const auto allocated =
        allocate ? (policy_->OnMiss(key), AllocateLocked(key)) : std::optional<uint64_t>();
    if (!allocated) {
      ++uncached_writes_[key];
      return std::nullopt;
    }
    number = *allocated;
  }
  Slot& slot = slots_[number];
  ++slot.writers;
  slot.stamp = NextStamp();
  return PinLocked(number);
}

void BlockIndex::EndWrite(const BlockKey& key, const PinnedBlock& pinned,
                          uint32_t first_written, uint32_t written_count,
                          uint32_t first_valid, uint32_t valid_count, bool cached,
                          PartialSectors partial) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[pinned.slot];
  if (slot.writers > 0) --slot.writers;
  const auto it = slot_of_.find(key);
  if (it != slot_of_.end() && it->second == pinned.slot) {
    if (cached) {
      if (partial == PartialSectors::kInvalidate) slot.valid.Clear(first_written, written_count);
      slot.valid.Set(first_valid, valid_count);
    } else {
      slot.valid.Clear(first_written, written_count);
    }
    slot.stamp = NextStamp();
    MarkDirtyLocked(key);
  }
  UnpinLocked(pinned.slot);
}

void BlockIndex::BeginUncachedWrite(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  ++uncached_writes_[key];
}

void BlockIndex::EndUncachedWrite(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  const auto it = uncached_writes_.find(key);
  if (it != uncached_writes_.end() && --it->second == 0) uncached_writes_.erase(it);
}

bool BlockIndex::Invalidate(const BlockKey& key, uint32_t first_sector, uint32_t count) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end()) return false;
  const uint64_t number = it->second;
  Slot& slot = slots_[number];
  slot.valid.Clear(first_sector, count);
  slot.stamp = NextStamp();
  MarkDirtyLocked(key);
  if (slot.valid.None()) {
    UnmapLocked(slot);
    ReleaseIfIdleLocked(number);
  }
  return true;
}

bool BlockIndex::Drop(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end()) return false;
  const uint64_t number = it->second;
  UnmapLocked(slots_[number]);
  ReleaseIfIdleLocked(number);
  return true;
}

bool BlockIndex::DropIfUnchangedSincePin(const BlockKey& key, const PinnedBlock& pinned) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end() || it->second != pinned.slot) return false;
  Slot& slot = slots_[pinned.slot];
  if (slot.stamp != pinned.stamp || slot.writers > 0) return false;
  UnmapLocked(slot);
  ReleaseIfIdleLocked(pinned.slot);
  return true;
}

uint64_t BlockIndex::DropFrom(uint64_t object_id, uint64_t first_block) {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> doomed;
  for (const auto& [key, number] : slot_of_) {
    if (key.object_id == object_id && key.block >= first_block) doomed.push_back(number);
  }
  for (uint64_t number : doomed) {
    UnmapLocked(slots_[number]);
    ReleaseIfIdleLocked(number);
  }
  return doomed.size();
}

uint64_t BlockIndex::DropAll() {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> doomed;
  doomed.reserve(slot_of_.size());
  for (const auto& [key, number] : slot_of_) doomed.push_back(number);
  for (uint64_t number : doomed) {
    UnmapLocked(slots_[number]);
    ReleaseIfIdleLocked(number);
  }
  return doomed.size();
}

bool BlockIndex::Restore(const BlockKey& key, uint64_t number, const SectorSet& valid) {
  std::lock_guard lock(mutex_);
  if (number >= slot_count_ || slots_[number].in_use || slot_of_.contains(key) ||
      valid.size() != sectors_per_block_ || valid.None()) {
    return false;
  }
  Slot& slot = slots_[number];
  slot.owner = key;
  slot.mapped = true;
  slot.in_use = true;
  slot.stamp = NextStamp();
  slot.valid = valid;
  slot_of_.emplace(key, number);
  free_list_stale_ = true;
  policy_->OnInsert(key);
  return true;
}

uint64_t BlockIndex::mapped_blocks() const {
  std::lock_guard lock(mutex_);
  return slot_of_.size();
}

uint64_t BlockIndex::free_slots() const {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  return free_list_.size();
}

bool BlockIndex::PrepareForAllocations(uint64_t count) {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  if (free_list_.size() + quarantined_ < count + reserve_) EvictLocked(count + reserve_);
  return free_list_.size() < count && quarantined_ > 0;
}

void BlockIndex::SetPromoteAfter(uint32_t misses) {
  std::lock_guard lock(mutex_);
  promotion_filter_ = PromotionFilter(misses, 4 * slot_count_);
}

uint64_t BlockIndex::demotions() const {
  std::lock_guard lock(mutex_);
  return demotions_;
}

uint64_t BlockIndex::full_bypasses() const {
  std::lock_guard lock(mutex_);
  return full_bypasses_;
}

void BlockIndex::EvictLocked(uint64_t target) {
  const auto evictable = [this](const BlockKey& key) {
    const auto it = slot_of_.find(key);
    if (it == slot_of_.end()) return false;
    const Slot& slot = slots_[it->second];
    return slot.pins == 0 && slot.writers == 0 && !slot.promoting;
  };
  uint64_t evicted = 0;
  while (free_list_.size() + quarantined_ < target) {
    const std::optional<BlockKey> victim = policy_->Victim(evictable);
    if (!victim) break;
    const uint64_t number = slot_of_.at(*victim);
    policy_->OnEvict(*victim);
    UnmapLocked(slots_[number], /*evicted=*/true);
    ReleaseIfIdleLocked(number);
    ++evicted;
  }
  demotions_ += evicted;
  if (evicted > 0 && eviction_listener_) eviction_listener_();
}

std::optional<uint64_t> BlockIndex::AllocateLocked(const BlockKey& key) {
  RebuildFreeListIfStaleLocked();
  // Evict ahead, before this block is mapped, so that the reserve outlasts it.
  if (free_list_.size() + quarantined_ <= reserve_) EvictLocked(reserve_ + 1);
  if (free_list_.empty()) {
    ++full_bypasses_;
    return std::nullopt;
  }
  const uint64_t number = free_list_.back();
  free_list_.pop_back();
  Slot& slot = slots_[number];
  slot.owner = key;
  slot.mapped = true;
  slot.in_use = true;
  slot.promoting = false;
  slot.writers = 0;
  slot.stamp = NextStamp();
  slot.valid = SectorSet(sectors_per_block_);
  slot_of_.emplace(key, number);
  policy_->OnInsert(key);
  return number;
}

PinnedBlock BlockIndex::PinLocked(uint64_t number) {
  Slot& slot = slots_[number];
  ++slot.pins;
  return PinnedBlock{number, slot.valid, slot.stamp};
}

void BlockIndex::UnpinLocked(uint64_t number) {
  Slot& slot = slots_[number];
  if (slot.pins > 0) --slot.pins;
  if (slot.pins == 0) {
    slot.promoting = false;
    // A promotion or write that installed nothing leaves an empty mapping.
    if (slot.mapped && slot.valid.None()) UnmapLocked(slot);
  }
  ReleaseIfIdleLocked(number);
}

void BlockIndex::UnmapLocked(Slot& slot, bool evicted) {
  if (!slot.mapped) return;
  if (!evicted) policy_->OnRemove(slot.owner);
  MarkDirtyLocked(slot.owner);
  slot_of_.erase(slot.owner);
  slot.mapped = false;
  slot.promoting = false;
  slot.stamp = NextStamp();
  slot.valid = SectorSet();
}

void BlockIndex::ReleaseIfIdleLocked(uint64_t number) {
  Slot& slot = slots_[number];
  if (slot.in_use && !slot.mapped && slot.pins == 0) {
    slot.in_use = false;
    slot.writers = 0;
    slot.quarantined = true;
    ++quarantined_;
    quarantine_.push_back(number);
  }
}

void BlockIndex::RebuildFreeListIfStaleLocked() const {
  if (!free_list_stale_) return;
  free_list_.clear();
  for (uint64_t s = slot_count_; s > 0; --s) {
    if (!slots_[s - 1].in_use && !slots_[s - 1].quarantined) free_list_.push_back(s - 1);
  }
  free_list_stale_ = false;
}

BlockIndex::Changes BlockIndex::TakeChanges() {
  std::lock_guard lock(mutex_);
  Changes changes;
  changes.blocks.reserve(dirty_.size());
  for (const BlockKey& key : dirty_) {
    Changes::Block block{key, std::nullopt};
    if (const auto it = slot_of_.find(key); it != slot_of_.end()) {
      const Slot& slot = slots_[it->second];
      // A mapping with nothing valid yet (a promotion in flight) is not worth
      // persisting; its final state will be dirty again.
      if (!slot.valid.None()) block.mapping.emplace(it->second, slot.valid);
    }
    changes.blocks.push_back(std::move(block));
  }
  dirty_.clear();
  changes.quarantined_slots = std::move(quarantine_);
  quarantine_.clear();
  return changes;
}

void BlockIndex::ReleaseQuarantined(const std::vector<uint64_t>& numbers) {
  std::lock_guard lock(mutex_);
  for (uint64_t number : numbers) {
    Slot& slot = slots_[number];
    if (!slot.quarantined) continue;
    slot.quarantined = false;
    --quarantined_;
    if (!slot.in_use && !free_list_stale_) free_list_.push_back(number);
  }
}

}  // namespace wtcachefs
