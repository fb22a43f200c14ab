// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/block_index.h"

#include <algorithm>
#include <bit>

#include "engine/sector_bitmaps.h"

namespace wtcachefs {

BlockIndex::BlockIndex(uint64_t slot_count, uint32_t sectors_per_block, PolicyKind policy,
                       uint32_t promote_after)
    : slot_count_(std::min(slot_count, kMaxSlots)),
      sectors_per_block_(sectors_per_block),
      keys_(slot_count_),
      state_(slot_count_, 0),
      valid_(std::make_unique<SectorBitmaps>(slot_count_, sectors_per_block)),
      slot_of_(slot_count_),
      limit_(slot_count_),
      policy_(MakePolicy(policy, slot_count_)),
      promotion_filter_(promote_after, 4 * slot_count_) {}

BlockIndex::~BlockIndex() = default;

uint64_t BlockIndex::HashOf(const BlockKey& key) {
  return Mix64((key.object_id << 32) | (key.block & UINT32_MAX));
}

uint32_t BlockIndex::FindLocked(const BlockKey& key) const {
  if (!Packable(key)) return IndexTable::kNone;
  return slot_of_.Find(
      HashOf(key),
      [&](uint32_t slot) {
        return keys_[slot].object_id == key.object_id && keys_[slot].block == key.block;
      },
      SlotHash());
}

BlockIndex::Active* BlockIndex::ActiveOf(uint32_t slot) {
  const auto it = active_.find(slot);
  return it == active_.end() ? nullptr : &it->second;
}

void BlockIndex::ChangedLocked(uint32_t slot) {
  if (!(state_[slot] & kDirty)) {
    state_[slot] |= kDirty;
    dirty_slots_.push_back(slot);
    ChangesWaitingGrewLocked();
  }
  if (Active* active = ActiveOf(slot)) active->stamp = ++last_stamp_;
}

std::optional<PinnedBlock> BlockIndex::PinForRead(const BlockKey& key, PolicyHit hit) {
  std::lock_guard lock(mutex_);
  const uint32_t slot = FindLocked(key);
  if (slot == IndexTable::kNone) return std::nullopt;
  if (hit == PolicyHit::kNow) policy_->OnHit(slot);
  return PinLocked(slot);
}

void BlockIndex::Touch(std::span<const uint32_t> slots) {
  std::lock_guard lock(mutex_);
  for (const uint32_t slot : slots) policy_->OnHit(slot);
}

void BlockIndex::Unpin(uint64_t slot) {
  std::lock_guard lock(mutex_);
  UnpinLocked(static_cast<uint32_t>(slot));
}

std::optional<PinnedBlock> BlockIndex::BeginPromotion(const BlockKey& key, bool filtered) {
  std::lock_guard lock(mutex_);
  if (!Packable(key) || uncached_writes_.contains(key)) return std::nullopt;
  uint32_t slot = FindLocked(key);
  if (slot != IndexTable::kNone) {
    if (const Active* active = ActiveOf(slot);
        active && (active->promoting || active->writers > 0)) {
      return std::nullopt;
    }
  } else {
    policy_->OnMiss(key);
    if (filtered && !promotion_filter_.OnMiss(key)) return std::nullopt;
    const auto allocated = AllocateLocked(key);
    if (!allocated) return std::nullopt;
    slot = *allocated;
  }
  PinnedBlock pinned = PinLocked(slot);
  active_[slot].promoting = true;
  return pinned;
}

bool BlockIndex::EndPromotion(const BlockKey& key, const PinnedBlock& pinned,
                              uint32_t first_sector, uint32_t count, bool copied) {
  std::lock_guard lock(mutex_);
  const auto slot = static_cast<uint32_t>(pinned.slot);
  Active& active = active_[slot];
  const bool still_owned = FindLocked(key) == slot;
  const bool unchanged = still_owned && active.stamp == pinned.stamp;
  if (still_owned) active.promoting = false;
  if (unchanged && copied) {
    valid_->Set(slot, first_sector, count);
    ChangedLocked(slot);
  }
  UnpinLocked(slot);
  return unchanged && copied;
}

std::optional<PinnedBlock> BlockIndex::BeginWrite(const BlockKey& key, bool allocate) {
  std::lock_guard lock(mutex_);
  uint32_t slot = FindLocked(key);
  if (slot != IndexTable::kNone) {
    policy_->OnHit(slot);
    if (const Active* active = ActiveOf(slot); active && active->promoting) {
      // The promotion may land older bytes in the slot after ours: drop the
      // block so its EndPromotion installs nothing; this write goes to origin.
      UnmapLocked(slot);
      ReleaseIfIdleLocked(slot);
      ++uncached_writes_[key];
      return std::nullopt;
    }
  } else {
    std::optional<uint32_t> allocated;
    if (allocate && Packable(key)) {
      policy_->OnMiss(key);
      allocated = AllocateLocked(key);
    }
    if (!allocated) {
      ++uncached_writes_[key];
      return std::nullopt;
    }
    slot = *allocated;
  }
  PinnedBlock pinned = PinLocked(slot);
  Active& active = active_[slot];
  ++active.writers;
  pinned.stamp = active.stamp = ++last_stamp_;
  return pinned;
}

void BlockIndex::EndWrite(const BlockKey& key, const PinnedBlock& pinned,
                          uint32_t first_written, uint32_t written_count,
                          uint32_t first_valid, uint32_t valid_count, bool cached,
                          PartialSectors partial) {
  std::lock_guard lock(mutex_);
  const auto slot = static_cast<uint32_t>(pinned.slot);
  Active& active = active_[slot];
  if (active.writers > 0) --active.writers;
  if (FindLocked(key) == slot) {
    if (cached) {
      if (partial == PartialSectors::kInvalidate) valid_->Clear(slot, first_written, written_count);
      valid_->Set(slot, first_valid, valid_count);
    } else {
      valid_->Clear(slot, first_written, written_count);
    }
    ChangedLocked(slot);
  }
  UnpinLocked(slot);
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
  const uint32_t slot = FindLocked(key);
  if (slot == IndexTable::kNone) return false;
  valid_->Clear(slot, first_sector, count);
  ChangedLocked(slot);
  if (valid_->None(slot)) {
    UnmapLocked(slot);
    ReleaseIfIdleLocked(slot);
  }
  return true;
}

bool BlockIndex::Drop(const BlockKey& key) {
  std::lock_guard lock(mutex_);
  const uint32_t slot = FindLocked(key);
  if (slot == IndexTable::kNone) return false;
  UnmapLocked(slot);
  ReleaseIfIdleLocked(slot);
  return true;
}

bool BlockIndex::DropIfUnchangedSincePin(const BlockKey& key, const PinnedBlock& pinned) {
  std::lock_guard lock(mutex_);
  const auto slot = static_cast<uint32_t>(pinned.slot);
  if (FindLocked(key) != slot) return false;
  const Active* active = ActiveOf(slot);
  if (active == nullptr || active->stamp != pinned.stamp || active->writers > 0) return false;
  UnmapLocked(slot);
  ReleaseIfIdleLocked(slot);
  return true;
}

uint64_t BlockIndex::DropFrom(uint64_t object_id, uint64_t first_block) {
  std::lock_guard lock(mutex_);
  uint64_t dropped = 0;
  for (uint64_t s = 0; s < slot_count_ && mapped_ > 0; ++s) {
    const auto slot = static_cast<uint32_t>(s);
    if (IsMapped(slot) && keys_[slot].object_id == object_id && keys_[slot].block >= first_block) {
      UnmapLocked(slot);
      ReleaseIfIdleLocked(slot);
      ++dropped;
    }
  }
  return dropped;
}

uint64_t BlockIndex::DropObjects(std::span<const uint64_t> object_ids) {
  std::lock_guard lock(mutex_);
  uint64_t dropped = 0;
  for (uint64_t s = 0; s < slot_count_ && mapped_ > 0; ++s) {
    const auto slot = static_cast<uint32_t>(s);
    if (IsMapped(slot) &&
        std::binary_search(object_ids.begin(), object_ids.end(), keys_[slot].object_id)) {
      UnmapLocked(slot);
      ReleaseIfIdleLocked(slot);
      ++dropped;
    }
  }
  return dropped;
}

uint64_t BlockIndex::DropAll() {
  std::lock_guard lock(mutex_);
  uint64_t dropped = 0;
  for (uint64_t s = 0; s < slot_count_ && mapped_ > 0; ++s) {
    const auto slot = static_cast<uint32_t>(s);
    if (IsMapped(slot)) {
      UnmapLocked(slot);
      ReleaseIfIdleLocked(slot);
      ++dropped;
    }
  }
  return dropped;
}

bool BlockIndex::Restore(const BlockKey& key, uint64_t number, const SectorSet& valid) {
  std::lock_guard lock(mutex_);
  return RestoreLocked(key, number, valid);
}

void BlockIndex::RestoreBatch(std::span<const BlockMapping> mappings,
                              const std::function<void(const BlockMapping&)>& refused) {
  std::lock_guard lock(mutex_);
  if (!restored_any_) slot_of_.BeginBulkLoad(SlotHash());
  for (const BlockMapping& m : mappings) {
    const BlockKey key{m.object_id, m.block};
    if (Packable(key)) slot_of_.Prefetch(HashOf(key));
    if (m.slot < slot_count_) {
      __builtin_prefetch(&keys_[m.slot], 1);
      __builtin_prefetch(&state_[m.slot], 1);
      valid_->Prefetch(m.slot);
      policy_->Prefetch(static_cast<uint32_t>(m.slot));
    }
  }
  for (const BlockMapping& m : mappings) {
    if (!RestoreLocked({m.object_id, m.block}, m.slot,
                       SectorSet::FromBytes(m.valid_sectors, sectors_per_block_))) {
      refused(m);
    }
  }
}

bool BlockIndex::RestoreLocked(const BlockKey& key, uint64_t number, const SectorSet& valid) {
  if (number >= slot_count_ || !Packable(key) || (state_[number] & kInUse) ||
      valid.size() != sectors_per_block_ || valid.None()) {
    return false;
  }
  // A key above every key restored so far cannot be mapped yet: a mount's scan
  // in key order pays no lookup (a random memory access) per block.
  const std::pair<uint64_t, uint64_t> order{key.object_id, key.block};
  if (restored_any_ && order <= highest_restored_ && FindLocked(key) != IndexTable::kNone) {
    return false;
  }
  if (!restored_any_ || order > highest_restored_) highest_restored_ = order;
  if (!restored_any_) slot_of_.BeginBulkLoad(SlotHash());
  restored_any_ = true;
  const auto slot = static_cast<uint32_t>(number);
  keys_[slot] = PackedKey{static_cast<uint32_t>(key.object_id), static_cast<uint32_t>(key.block)};
  state_[slot] |= kMapped | kInUse;
  valid_->Assign(slot, valid);
  slot_of_.Insert(HashOf(key), slot, SlotHash());
  ++mapped_;
  free_list_stale_ = true;
  policy_->OnInsert(slot, key);
  return true;
}

void BlockIndex::FinishRestore() {
  std::lock_guard lock(mutex_);
  slot_of_.EndBulkLoad();
}

bool BlockIndex::HoldForRecheck(uint64_t number) {
  std::lock_guard lock(mutex_);
  if (number >= slot_count_ || (state_[number] & (kInUse | kQuarantined))) return false;
  state_[number] |= kQuarantined;
  ++quarantined_;
  free_list_stale_ = true;
  return true;
}

bool BlockIndex::Readmit(const BlockKey& key, uint64_t number, const SectorSet& valid) {
  std::lock_guard lock(mutex_);
  if (number >= slot_count_ || !Packable(key) || valid.size() != sectors_per_block_ ||
      valid.None()) {
    return false;
  }
  const auto slot = static_cast<uint32_t>(number);
  if (!(state_[slot] & kQuarantined) || (state_[slot] & kInUse) ||
      FindLocked(key) != IndexTable::kNone) {
    return false;
  }
  state_[slot] &= static_cast<uint8_t>(~kQuarantined);
  --quarantined_;
  keys_[slot] = PackedKey{static_cast<uint32_t>(key.object_id), static_cast<uint32_t>(key.block)};
  state_[slot] |= kMapped | kInUse;
  valid_->Assign(slot, valid);
  slot_of_.Insert(HashOf(key), slot, SlotHash());
  ++mapped_;
  policy_->OnInsert(slot, key);
  ChangedLocked(slot);
  return true;
}

uint64_t BlockIndex::mapped_blocks() const {
  std::lock_guard lock(mutex_);
  return mapped_;
}

uint64_t BlockIndex::free_slots() const {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  return FreeCountLocked();
}

uint64_t BlockIndex::memory_bytes() const {
  std::lock_guard lock(mutex_);
  return keys_.capacity() * sizeof(PackedKey) + state_.capacity() + valid_->memory_bytes() +
         slot_of_.memory_bytes() +
         (free_list_.capacity() + discarded_list_.capacity()) * sizeof(uint32_t) +
         policy_->memory_bytes();
}

bool BlockIndex::PrepareForAllocations(uint64_t count) {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  const uint64_t reserve = ReserveLocked();
  if (AvailableLocked() < count + reserve) EvictLocked(count + reserve);
  const uint64_t held = HeldLocked();
  const uint64_t allocatable =
      free_list_.size() +
      std::min(FreeCountLocked() - free_list_.size(), limit_ > held ? limit_ - held : 0);
  return allocatable < count && quarantined_ > 0;
}

void BlockIndex::SetSpaceLimit(uint64_t slots) {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  limit_ = std::min(slots, slot_count_);
  const uint64_t reserve = ReserveLocked();
  if (AvailableLocked() < reserve) EvictLocked(reserve);
}

uint64_t BlockIndex::space_limit() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

uint64_t BlockIndex::held_slots() const {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  return HeldLocked();
}

std::vector<uint32_t> BlockIndex::TakeFreeSlotsToDiscard() {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  std::vector<uint32_t> taken;
  taken.swap(free_list_);  // lent: counted as in use until returned
  return taken;
}

void BlockIndex::ReturnLentSlots(std::span<const uint32_t> slots, size_t discarded) {
  std::lock_guard lock(mutex_);
  discarded_list_.insert(discarded_list_.end(), slots.begin(), slots.begin() + discarded);
  free_list_.insert(free_list_.end(), slots.begin() + discarded, slots.end());
}

uint64_t BlockIndex::fresh_slots_from() const {
  std::lock_guard lock(mutex_);
  RebuildFreeListIfStaleLocked();
  return fresh_from_;
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
  // A pinned slot has IO in flight (a read, a write or a promotion).
  const auto evictable = [this](uint32_t slot) { return IsMapped(slot) && !active_.contains(slot); };
  uint64_t evicted = 0;
  while (AvailableLocked() < target) {
    const std::optional<uint32_t> victim = policy_->Victim(evictable);
    if (!victim) break;
    policy_->OnEvict(*victim, keys_[*victim].Unpacked());
    UnmapLocked(*victim, /*evicted=*/true);
    ReleaseIfIdleLocked(*victim);
    ++evicted;
  }
  demotions_ += evicted;
  if (evicted > 0 && commit_listener_) commit_listener_();
}

std::optional<uint32_t> BlockIndex::AllocateLocked(const BlockKey& key) {
  RebuildFreeListIfStaleLocked();
  // Evict ahead, before this block is mapped, so that the reserve outlasts it.
  const uint64_t reserve = ReserveLocked();
  if (AvailableLocked() <= reserve) EvictLocked(reserve + 1);
  uint32_t slot;
  // A free slot still holding data costs no room; any other slot may.
  if (!free_list_.empty()) {
    slot = free_list_.back();
    free_list_.pop_back();
  } else if (HeldLocked() >= limit_) {
    ++full_bypasses_;
    return std::nullopt;
  } else if (!discarded_list_.empty()) {
    slot = discarded_list_.back();
    discarded_list_.pop_back();
  } else if (fresh_from_ < slot_count_) {
    slot = static_cast<uint32_t>(fresh_from_++);
  } else {
    ++full_bypasses_;
    return std::nullopt;
  }
  keys_[slot] = PackedKey{static_cast<uint32_t>(key.object_id), static_cast<uint32_t>(key.block)};
  state_[slot] |= kMapped | kInUse;
  valid_->ClearAll(slot);
  slot_of_.Insert(HashOf(key), slot, SlotHash());
  ++mapped_;
  policy_->OnInsert(slot, key);
  return slot;
}

PinnedBlock BlockIndex::PinLocked(uint32_t slot) {
  const auto [it, first_pin] = active_.try_emplace(slot);
  Active& active = it->second;
  if (first_pin) active.stamp = ++last_stamp_;
  ++active.pins;
  return PinnedBlock{slot, valid_->Get(slot), active.stamp};
}

void BlockIndex::UnpinLocked(uint32_t slot) {
  const auto it = active_.find(slot);
  if (it != active_.end() && it->second.pins > 0) --it->second.pins;
  if (it == active_.end() || it->second.pins == 0) {
    if (it != active_.end()) active_.erase(it);
    // A promotion or write that installed nothing leaves an empty mapping.
    if (IsMapped(slot) && valid_->None(slot)) UnmapLocked(slot);
  }
  ReleaseIfIdleLocked(slot);
}

void BlockIndex::UnmapLocked(uint32_t slot, bool evicted) {
  if (!IsMapped(slot)) return;
  const BlockKey key = keys_[slot].Unpacked();
  if (!evicted) policy_->OnRemove(slot, key);
  slot_of_.Erase(HashOf(key), slot, SlotHash());
  --mapped_;
  unmapped_keys_.push_back(key);
  ChangesWaitingGrewLocked();
  state_[slot] &= static_cast<uint8_t>(~kMapped);
  valid_->ClearAll(slot);
  if (Active* active = ActiveOf(slot)) {
    active->promoting = false;
    active->stamp = ++last_stamp_;
  }
}

void BlockIndex::ReleaseIfIdleLocked(uint32_t slot) {
  if ((state_[slot] & kInUse) && !IsMapped(slot) && !active_.contains(slot)) {
    state_[slot] = static_cast<uint8_t>((state_[slot] & ~kInUse) | kQuarantined);
    ++quarantined_;
    quarantine_.push_back(slot);
  }
}

void BlockIndex::RebuildFreeListIfStaleLocked() const {
  if (!free_list_stale_) return;
  uint64_t end = slot_count_;
  while (end > 0 && !(state_[end - 1] & (kInUse | kQuarantined))) --end;
  fresh_from_ = end;
  // Only a restore makes the list stale, before any slot was discarded: every
  // free slot may hold data.
  free_list_.clear();
  discarded_list_.clear();
  for (uint64_t s = end; s > 0; --s) {
    if (!(state_[s - 1] & (kInUse | kQuarantined))) free_list_.push_back(static_cast<uint32_t>(s - 1));
  }
  free_list_.shrink_to_fit();
  free_list_stale_ = false;
}

BlockIndex::Changes BlockIndex::TakeChanges() {
  std::lock_guard lock(mutex_);
  Changes changes;
  changes.blocks.reserve(unmapped_keys_.size() + dirty_slots_.size());
  // Unmappings first: a key unmapped and mapped again since the last call ends
  // up with its new mapping.
  for (const BlockKey& key : unmapped_keys_) changes.blocks.push_back({key, std::nullopt});
  for (const uint32_t slot : dirty_slots_) {
    state_[slot] &= static_cast<uint8_t>(~kDirty);
    if (!IsMapped(slot)) continue;  // its key is among the unmapped ones
    Changes::Block block{keys_[slot].Unpacked(), std::nullopt};
    // A mapping with nothing valid yet (a promotion in flight) is not worth
    // persisting; its final state will be dirty again.
    if (!valid_->None(slot)) block.mapping.emplace(slot, valid_->Get(slot));
    changes.blocks.push_back(std::move(block));
  }
  std::vector<BlockKey>().swap(unmapped_keys_);
  std::vector<uint32_t>().swap(dirty_slots_);
  changes.quarantined_slots = std::move(quarantine_);
  quarantine_.clear();
  return changes;
}

void BlockIndex::ReturnChanges(Changes&& changes) {
  std::lock_guard lock(mutex_);
  for (const Changes::Block& block : changes.blocks) {
    const uint32_t slot = FindLocked(block.key);
    if (slot != IndexTable::kNone) {
      ChangedLocked(slot);
    } else {
      unmapped_keys_.push_back(block.key);
    }
  }
  quarantine_.insert(quarantine_.end(), changes.quarantined_slots.begin(),
                     changes.quarantined_slots.end());
  ChangesWaitingGrewLocked();
}

void BlockIndex::ReleaseQuarantined(const std::vector<uint64_t>& numbers) {
  std::lock_guard lock(mutex_);
  for (uint64_t number : numbers) {
    const auto slot = static_cast<uint32_t>(number);
    if (!(state_[slot] & kQuarantined)) continue;
    state_[slot] &= static_cast<uint8_t>(~kQuarantined);
    --quarantined_;
    if (!(state_[slot] & kInUse) && !free_list_stale_) free_list_.push_back(slot);
  }
}

}  // namespace wtcachefs
