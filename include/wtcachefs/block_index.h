// SPDX-License-Identifier: Apache-2.0
// BlockIndex: the in-memory answer to "is block B of object O cached, in which
// slot, and which of its 4 KiB sectors are valid?" (DESIGN §3), and the slot
// allocator. It decides who may do IO to a slot; callers do the IO between calls.
//
// Pins. Every IO to a slot happens under a pin. An invalidated block is unmapped
// at once, but its slot returns to the free list only when its last pin is
// dropped, so a slot is never reused while IO to it is in flight.
//
// Writers and promotions exclude each other per block (DESIGN W5, dm-cache's
// bio prison). A promotion (read miss copying origin bytes into the slot) and a
// writethrough write both write the slot; if they overlapped, the promotion could
// land bytes older than the write's. So:
//  - BeginPromotion fails while a write to the block is in flight (the read is
//    then served from origin, uncached), whether that write updates a slot or
//    goes to origin only: a promotion that read origin before such a write
//    landed would cache the old bytes;
//  - BeginWrite on a block with a promotion in flight unmaps the block and
//    returns nothing (the write goes to origin only), and the promotion's
//    EndPromotion then installs nothing.
// Stamps come from one counter and are never reused, so a late EndPromotion can
// never match a later mapping of the same block or slot.
//
// Eviction (DESIGN W7). Every lookup, new mapping and unmapping is reported to
// a ReplacementPolicy. When a slot is allocated and fewer than a reserve of
// slots (1/64 of the cache, at least one) are free or on their way back, the
// policy's victims among the unpinned blocks are unmapped into quarantine (W4:
// reused only once their unmapping is durable) and the eviction listener is
// told, so that a group commit frees them soon. A request that finds no free
// slot is not cached (a bypass); it never waits. A PromotionFilter may require
// several misses before a block is promoted.
//
// Space limit. An elastic cache (engine/space_guard.h) may hold data in fewer
// slots than it has: at most space_limit() slots hold data, the policy
// evicting down to it when it is lowered. Free slots whose data nobody
// needs any more are lent out once each by TakeFreeSlotsToDiscard, for the
// caller to give their room back to the file system.
//
// Memory. Everything is in arrays indexed by slot, allocated at construction
// (dm-cache smq's layout): per slot 8 bytes of key, 1 of state, the validity
// bits (packed, a power of two per block), 4.5 of IndexTable; the policy adds 8
// and its ghosts about 9 each. Only pinned slots have an entry in active_; only
// changes since the last TakeChanges are listed. A mount restores every
// mapping in batches (RestoreBatch), fetching the memory of each batch ahead.
//
// Thread safety: all methods may be called concurrently. One mutex guards the
// index and is never held across IO.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "wtcachefs/block_key.h"
#include "wtcachefs/index_table.h"
#include "wtcachefs/meta_records.h"
#include "wtcachefs/policy.h"
#include "wtcachefs/promotion_filter.h"
#include "wtcachefs/sector_set.h"

namespace wtcachefs {

// A pinned block: the caller may do IO to `slot` until it ends the session.
struct PinnedBlock {
  uint64_t slot;
  SectorSet valid;  // validity when pinned
  uint64_t stamp;
};

class BlockIndex {
 public:
  // `slot_count` is at most kMaxSlots.
  BlockIndex(uint64_t slot_count, uint32_t sectors_per_block,
             PolicyKind policy = kDefaultPolicy, uint32_t promote_after = 1);
  ~BlockIndex();

  // Called (under the index's lock: it must not call back) when a group
  // commit is due before its interval: blocks were evicted into quarantine, or
  // kChangesPerCommit changes wait for TakeChanges (which bounds the memory a
  // commit's batch takes: a fast fill would otherwise gather hundreds of
  // thousands of changes, some 250 bytes each on their way to RocksDB).
  static constexpr uint64_t kChangesPerCommit = 4096;
  void set_commit_listener(std::function<void()> listener) {
    commit_listener_ = std::move(listener);
  }

  uint64_t slot_count() const { return slot_count_; }
  uint32_t sectors_per_block() const { return sectors_per_block_; }

  // Read hits: pins a mapped block. End with Unpin(). With kLater the policy
  // learns of the hit only from a later Touch(), once the read is sure to be
  // served (a read that gives up leaves no trace in the policy).
  enum class PolicyHit { kNow, kLater };
  std::optional<PinnedBlock> PinForRead(const BlockKey& key, PolicyHit hit = PolicyHit::kNow);
  // Tells the policy of the hits on pinned `slots` (PolicyHit::kLater).
  void Touch(std::span<const uint32_t> slots);
  void Unpin(uint64_t slot);

  // Read misses: pins the block for copying origin bytes into it, mapping it to
  // a free slot first when unmapped. nullopt: no promotion now (a write or
  // another promotion is in flight, the promotion filter wants more misses, or
  // no slot is free). End with EndPromotion.
  // `filtered`: false skips the promotion filter (an explicit warm-up).
  std::optional<PinnedBlock> BeginPromotion(const BlockKey& key, bool filtered = true);
  // Marks `sectors` valid if nothing changed the block since BeginPromotion
  // (and `copied` is true), then unpins. Returns whether it installed.
  bool EndPromotion(const BlockKey& key, const PinnedBlock& pinned, uint32_t first_sector,
                    uint32_t count, bool copied);

  // Writes: pins the block for writing the new bytes into its slot too. With
  // `allocate`, an unmapped block gets a free slot (write-allocate). End with
  // EndWrite. nullopt: write origin only (unmapped and not allocated, or a
  // promotion was in flight, in which case the block has been unmapped); the
  // write still counts as in flight for the block until EndUncachedWrite.
  std::optional<PinnedBlock> BeginWrite(const BlockKey& key, bool allocate);
  // What a cached write does to the sectors it writes only partly.
  enum class PartialSectors {
    // Keep their state: a valid sector got the same bytes on both sides, an
    // invalid one stays invalid (no read-modify-write).
    kKeep,
    // Become invalid. The engine's choice: a sector's checksum covers all of
    // its bytes, and a partial write has only some of them at hand to compute
    // the new one (cache_dir/sector_checksums.h).
    kInvalidate,
  };
  // After both origin and cache completed. With `cached` (origin and slot both
  // took the bytes), the fully written sectors [first_valid, +valid_count) become
  // valid, and partly written ones are treated as `partial` says. Without
  // `cached`, every written sector [first_written, +written_count) is invalidated.
  void EndWrite(const BlockKey& key, const PinnedBlock& pinned, uint32_t first_written,
                uint32_t written_count, uint32_t first_valid, uint32_t valid_count,
                bool cached, PartialSectors partial = PartialSectors::kKeep);
  // A write that goes to origin only without asking for a slot (degraded):
  // promotions of the block are held off until EndUncachedWrite.
  void BeginUncachedWrite(const BlockKey& key);
  // After the origin write of a BeginWrite that returned nullopt, or of a
  // BeginUncachedWrite, completed.
  void EndUncachedWrite(const BlockKey& key);

  // Drops the validity of the given sectors; a block left with no valid sector
  // is unmapped. Returns true when the block was mapped.
  bool Invalidate(const BlockKey& key, uint32_t first_sector, uint32_t count);
  // Unmaps the block whatever its state (external change, truncate, eviction).
  bool Drop(const BlockKey& key);
  // A pinned read found the block's data failing its checksum: unmaps it if it
  // is still the pinned mapping, unchanged since the pin and with no write in
  // flight (true: the data is corrupt). False when a write changed or is
  // changing the block, which explains the mismatch (a torn read, not corruption).
  bool DropIfUnchangedSincePin(const BlockKey& key, const PinnedBlock& pinned);
  // Unmaps every block of `object_id` with block index >= `first_block`.
  uint64_t DropFrom(uint64_t object_id, uint64_t first_block);
  // Unmaps every block; returns how many were mapped.
  uint64_t DropAll();
  // Unmaps every block of the objects `object_ids` (sorted), in one scan of
  // the index; returns how many.
  uint64_t DropObjects(std::span<const uint64_t> object_ids);

  // Restores a mapping loaded from the metadata store (O(1) each; a million
  // mappings load in one pass). Fails when the slot is out of range or already
  // used, the key is mapped, or the bitmap is empty or of another size (a
  // damaged store). Fastest in key order (the store's scan order).
  bool Restore(const BlockKey& key, uint64_t slot, const SectorSet& valid);
  // Restores a batch of mappings as Restore() each would, fetching the memory
  // each will touch ahead (a mount's load is mostly random memory reads, which
  // then overlap); `refused` is called with each mapping Restore() refuses.
  static constexpr size_t kRestoreBatch = 64;  // a good batch size
  void RestoreBatch(std::span<const BlockMapping> mappings,
                    const std::function<void(const BlockMapping&)>& refused);
  // After the last Restore: frees what the bulk load needed (4 bytes a slot).
  void FinishRestore();

  // Crash recovery (engine/crash_recheck.h). After the restore, before
  // serving: keeps `slot`, whose mapping recovery did not trust, out of every
  // allocation, as a quarantined slot, until Readmit() maps it again or
  // ReleaseQuarantined() frees it. False when the slot is out of range or used.
  bool HoldForRecheck(uint64_t slot);
  // Maps `key` to the held `slot` again with `valid` sectors: a change that the
  // next TakeChanges() reports. False (the slot stays held) when the slot is
  // not held, the key is mapped already, or `valid` is empty.
  bool Readmit(const BlockKey& key, uint64_t slot, const SectorSet& valid);

  // Before `count` promotions: evicts policy victims until `count` slots (plus
  // the reserve) are free or quarantined. True when fewer than `count` are free
  // and a group commit would free quarantined ones: the caller may commit
  // first rather than leave the blocks uncached.
  bool PrepareForAllocations(uint64_t count);

  // Replaces the promotion filter (its counts start afresh).
  void SetPromoteAfter(uint32_t misses);

  // Lets at most `slots` slots (capped at slot_count()) hold data: a slot that
  // would hold data anew (one never used, or one whose data was discarded) is
  // not allocated while held_slots() is at the limit; a free slot still holding
  // data may always be reused. Evicts victims until that many, less the
  // reserve, are in use (evicted slots are quarantined as usual and become free
  // after the next group commit).
  void SetSpaceLimit(uint64_t slots);
  uint64_t space_limit() const;
  // Slots that may hold data, and so room in the slot file: in use,
  // quarantined, or free without their data discarded since they were used.
  uint64_t held_slots() const;
  // Lends the free slots whose data has not been discarded since they were
  // last allocated: none of them is allocated while the caller discards its
  // data (gives its room back). Slots past fresh_slots_from() are not
  // included. Hand every one back with ReturnLentSlots: the first `discarded`
  // of `slots` had their data discarded, the others still hold it.
  // Call after the index is restored (a lent slot is free in its state).
  std::vector<uint32_t> TakeFreeSlotsToDiscard();
  void ReturnLentSlots(std::span<const uint32_t> slots, size_t discarded);
  // Every slot from this one on has never held data since the index was built.
  uint64_t fresh_slots_from() const;

  uint64_t mapped_blocks() const;
  uint64_t free_slots() const;
  // Memory the index and its policy hold (heap, excluding transient change
  // lists): what `wtcachefs status` shows as the index's RAM.
  uint64_t memory_bytes() const;
  // The most slots an index can have: slot numbers are 31-bit (2^31 - 1
  // blocks: 8 TiB of 4 KiB blocks, 128 TiB of 64 KiB blocks).
  static constexpr uint64_t kMaxSlots = (uint64_t{1} << 31) - 1;
  // Blocks evicted by the policy, and blocks left uncached because no slot was
  // free, since construction.
  uint64_t demotions() const;
  uint64_t full_bypasses() const;

  // Persistence (DESIGN W4). Every key whose state changed since the last call
  // is reported with its current state (nullopt: unmapped). Slots freed since
  // then are quarantined: they are handed out again only after
  // ReleaseQuarantined(), which the caller calls once the unmapping is durable,
  // so a crash can never leave a durable mapping pointing at reused data.
  struct Changes {
    struct Block {
      BlockKey key;
      std::optional<std::pair<uint64_t, SectorSet>> mapping;  // slot, validity
    };
    std::vector<Block> blocks;
    std::vector<uint64_t> quarantined_slots;
  };
  Changes TakeChanges();
  void ReleaseQuarantined(const std::vector<uint64_t>& slots);
  // `changes`, taken by TakeChanges(), did not become durable: the next
  // TakeChanges() reports them again (with their state then), and their
  // quarantined slots stay quarantined until then.
  void ReturnChanges(Changes&& changes);

 private:
  // A key as the index keeps it: 8 bytes. Keys whose object id or block number
  // does not fit 32 bits are never cached (their IO goes to origin): that is
  // 2^32 files, and files of 16 TiB at 4 KiB blocks.
  struct PackedKey {
    uint32_t object_id;
    uint32_t block;
    BlockKey Unpacked() const { return BlockKey{object_id, block}; }
  };
  // State bits of a slot.
  enum : uint8_t {
    kMapped = 1,       // its key maps to it
    kInUse = 2,        // mapped or still pinned: not free
    kQuarantined = 4,  // freed, but its unmapping is not durable yet
    kDirty = 8,        // on dirty_slots_: its mapping changed since TakeChanges
  };
  // What only a slot with IO in flight needs; kept for pinned slots only.
  struct Active {
    uint32_t pins = 0;
    uint32_t writers = 0;
    bool promoting = false;
    // Changed whenever the slot's mapping or validity changes while pinned;
    // never reused, so a late EndPromotion cannot match a later mapping.
    uint64_t stamp = 0;
  };

  static bool Packable(const BlockKey& key) {
    return key.object_id <= UINT32_MAX && key.block <= UINT32_MAX;
  }
  static uint64_t HashOf(const BlockKey& key);
  // The key hash of a mapped slot, for slot_of_.
  auto SlotHash() const {
    return [this](uint32_t slot) { return HashOf(keys_[slot].Unpacked()); };
  }
  // The slot `key` maps to, or IndexTable::kNone.
  uint32_t FindLocked(const BlockKey& key) const;
  Active* ActiveOf(uint32_t slot);
  bool IsMapped(uint32_t slot) const { return state_[slot] & kMapped; }
  // Records that the slot's mapping or validity changed: for TakeChanges, and
  // for anyone holding a pin on it.
  void ChangedLocked(uint32_t slot);
  void ChangesWaitingGrewLocked() {
    if (dirty_slots_.size() + unmapped_keys_.size() == kChangesPerCommit && commit_listener_) {
      commit_listener_();
    }
  }
  std::optional<uint32_t> AllocateLocked(const BlockKey& key);
  bool RestoreLocked(const BlockKey& key, uint64_t slot, const SectorSet& valid);
  // Evicts policy victims until `target` slots are free or quarantined.
  void EvictLocked(uint64_t target);
  PinnedBlock PinLocked(uint32_t slot);
  void UnpinLocked(uint32_t slot);
  // `evicted`: the policy chose it (OnEvict was called), else it is told OnRemove.
  void UnmapLocked(uint32_t slot, bool evicted = false);
  void ReleaseIfIdleLocked(uint32_t slot);
  uint64_t FreeCountLocked() const {
    return free_list_.size() + discarded_list_.size() + (slot_count_ - fresh_from_);
  }
  uint64_t InUseLocked() const { return slot_count_ - FreeCountLocked() - quarantined_; }
  uint64_t HeldLocked() const { return InUseLocked() + quarantined_ + free_list_.size(); }
  // Slots free or on their way back (quarantined), within the space limit.
  uint64_t AvailableLocked() const {
    const uint64_t in_use = InUseLocked();
    return limit_ > in_use ? limit_ - in_use : 0;
  }
  // Slots kept free ahead of allocations: 1/64 of the limit, at least one.
  uint64_t ReserveLocked() const { return std::max<uint64_t>(1, limit_ / 64); }
  // Restore() marks slots used in bulk; the free list is rebuilt once, on demand.
  void RebuildFreeListIfStaleLocked() const;

  const uint64_t slot_count_;
  const uint32_t sectors_per_block_;
  mutable std::mutex mutex_;
  // Per slot: 8 bytes of key, 1 of state, its validity bits, 5 of slot_of_.
  std::vector<PackedKey> keys_;                   // GUARDED_BY(mutex_): valid when kMapped
  std::vector<uint8_t> state_;                    // GUARDED_BY(mutex_)
  std::unique_ptr<class SectorBitmaps> valid_;    // GUARDED_BY(mutex_)
  IndexTable slot_of_;                            // GUARDED_BY(mutex_): key -> mapped slot
  uint64_t mapped_ = 0;                           // GUARDED_BY(mutex_)
  std::unordered_map<uint32_t, Active> active_;   // GUARDED_BY(mutex_): pinned slots
  // Free slots: every slot from fresh_from_ on, those still holding data on
  // free_list_ (reused first: they cost no room), and discarded ones.
  mutable std::vector<uint32_t> free_list_;       // GUARDED_BY(mutex_)
  mutable std::vector<uint32_t> discarded_list_;  // GUARDED_BY(mutex_)
  mutable uint64_t fresh_from_ = 0;               // GUARDED_BY(mutex_)
  mutable bool free_list_stale_ = false;          // GUARDED_BY(mutex_)
  uint64_t last_stamp_ = 0;                       // GUARDED_BY(mutex_)
  bool restored_any_ = false;                     // GUARDED_BY(mutex_)
  std::pair<uint64_t, uint64_t> highest_restored_;  // GUARDED_BY(mutex_): object, block
  std::vector<uint32_t> dirty_slots_;             // GUARDED_BY(mutex_)
  std::vector<BlockKey> unmapped_keys_;           // GUARDED_BY(mutex_): since TakeChanges
  // Writes in flight to blocks without a slot, by block: promotions wait.
  std::unordered_map<BlockKey, uint32_t, BlockKeyHash> uncached_writes_;  // GUARDED_BY(mutex_)
  std::vector<uint64_t> quarantine_;  // freed since TakeChanges; GUARDED_BY(mutex_)
  uint64_t quarantined_ = 0;          // slots with kQuarantined; GUARDED_BY(mutex_)
  uint64_t limit_;                    // GUARDED_BY(mutex_): the space limit
  std::unique_ptr<ReplacementPolicy> policy_;  // GUARDED_BY(mutex_)
  PromotionFilter promotion_filter_;           // GUARDED_BY(mutex_)
  std::function<void()> commit_listener_;    // set before use
  uint64_t demotions_ = 0;                     // GUARDED_BY(mutex_)
  uint64_t full_bypasses_ = 0;                 // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
