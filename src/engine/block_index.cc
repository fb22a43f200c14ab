#include "wtcachefs/block_index.h"

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

BlockIndex::BlockIndex(uint64_t slot_count, uint32_t sectors_per_block)
    : slot_count_(slot_count), sectors_per_block_(sectors_per_block), slots_(slot_count) {
  free_list_.reserve(slot_count);
  for (uint64_t s = slot_count; s > 0; --s) free_list_.push_back(s - 1);
}

std::optional<BlockIndex::Pinned> BlockIndex::PinIfMapped(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end()) return std::nullopt;
  Slot& slot = slots_[it->second];
  ++slot.pins;
  return Pinned{it->second, slot.valid, slot.stamp, slot.promoting};
}

std::optional<BlockIndex::Pinned> BlockIndex::AllocateAndPin(const BlockKey& key,
                                                             bool for_promotion) {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  if (free_list_.empty() || slot_of_.contains(key)) return std::nullopt;
  const uint64_t number = free_list_.back();
  free_list_.pop_back();
  Slot& slot = slots_[number];
  slot.owner = key;
  slot.mapped = true;
  slot.in_use = true;
  slot.promoting = for_promotion;
  slot.pins = 1;
  slot.stamp = NextStamp();
  slot.valid = SectorSet(sectors_per_block_);
  slot_of_.emplace(key, number);
  return Pinned{number, slot.valid, slot.stamp, false};
}

void BlockIndex::Unpin(uint64_t number) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[number];
  if (slot.pins > 0) --slot.pins;
  if (slot.promoting && slot.pins == 0) slot.promoting = false;
  // A promotion that installed nothing leaves an empty mapping behind.
  if (slot.mapped && slot.pins == 0 && slot.valid.None()) UnmapLocked(slot);
  ReleaseIfIdleLocked(number);
}

bool BlockIndex::MarkValidIfUnchanged(const BlockKey& key, uint64_t number,
                                      uint64_t expected_stamp, uint32_t first_sector,
                                      uint32_t count) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end() || it->second != number) return false;
  Slot& slot = slots_[number];
  if (slot.stamp != expected_stamp) return false;
  slot.valid.Set(first_sector, count);
  slot.stamp = NextStamp();
  slot.promoting = false;
  return true;
}

bool BlockIndex::Invalidate(const BlockKey& key, uint32_t first_sector, uint32_t count) {
  std::lock_guard lock(mutex_);
  const auto it = slot_of_.find(key);
  if (it == slot_of_.end()) return false;
  const uint64_t number = it->second;
  Slot& slot = slots_[number];
  slot.valid.Clear(first_sector, count);
  slot.stamp = NextStamp();
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

void BlockIndex::RebuildFreeListIfStaleLocked() const {
  if (!free_list_stale_) return;
  free_list_.clear();
  for (uint64_t s = slot_count_; s > 0; --s) {
    if (!slots_[s - 1].in_use) free_list_.push_back(s - 1);
  }
  free_list_stale_ = false;
}

void BlockIndex::UnmapLocked(Slot& slot) {
  if (!slot.mapped) return;
  slot_of_.erase(slot.owner);
  slot.mapped = false;
  slot.stamp = NextStamp();
  slot.valid = SectorSet();
}

void BlockIndex::ReleaseIfIdleLocked(uint64_t number) {
  Slot& slot = slots_[number];
  if (slot.in_use && !slot.mapped && slot.pins == 0) {
    slot.in_use = false;
    slot.promoting = false;
    if (!free_list_stale_) free_list_.push_back(number);
  }
}

}  // namespace wtcachefs
