// BlockIndex: the in-memory answer to "is block B of object O cached, in which
// slot, and which of its 4 KiB sectors are valid?" (DESIGN §3), and the slot
// allocator.
//
// Slots and pins. Every IO to a slot (a read hit, a promotion's cache write, a
// writethrough cache write) is done under a pin taken here. An invalidated block
// is unmapped at once, but its slot returns to the free list only when its last
// pin is dropped, so a slot is never reused while IO to it is in flight (reusing
// it early would let a late write land in another block's data).
//
// Versions (DESIGN W5). Every change to a block's cached state takes a fresh
// stamp from one counter, so a stamp is never reused, even across unmap and remap.
// A promotion pins its block, reads origin, writes the slot, and then installs
// validity only if the stamp is unchanged. A writer that meets a block with a
// promotion in flight must not write the slot (the promotion could overwrite it
// with older bytes): it calls Invalidate(), which changes the stamp, so the
// promotion's install fails and its bytes are never served.
//
// Thread safety: all methods may be called concurrently. One mutex guards the
// index; no lock is held across IO (callers do IO between calls, under pins).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace wtcachefs {

struct BlockKey {
  uint64_t object_id;
  uint64_t block;
  bool operator==(const BlockKey&) const = default;
};

// A block's validity: bit i set = sector i holds the origin's current bytes.
class SectorSet {
 public:
  SectorSet() = default;
  explicit SectorSet(uint32_t sectors) : words_((sectors + 63) / 64, 0), sectors_(sectors) {}

  uint32_t size() const { return sectors_; }
  bool Test(uint32_t sector) const { return (words_[sector / 64] >> (sector % 64)) & 1; }
  void Set(uint32_t first, uint32_t count);
  void Clear(uint32_t first, uint32_t count);
  bool All(uint32_t first, uint32_t count) const;
  bool None() const;
  uint32_t Count() const;
  // Little-endian bitmap bytes, ceil(size/8) long (the on-disk form).
  std::vector<uint8_t> ToBytes() const;
  static SectorSet FromBytes(const std::vector<uint8_t>& bytes, uint32_t sectors);

  bool operator==(const SectorSet&) const = default;

 private:
  std::vector<uint64_t> words_;
  uint32_t sectors_ = 0;
};

class BlockIndex {
 public:
  // A pinned view of one mapped block. Unpin(slot) exactly once when IO is done.
  struct Pinned {
    uint64_t slot;
    SectorSet valid;
    uint64_t stamp;
    bool promotion_in_flight;
  };

  BlockIndex(uint64_t slot_count, uint32_t sectors_per_block);

  uint64_t slot_count() const { return slot_count_; }
  uint32_t sectors_per_block() const { return sectors_per_block_; }

  // Pins the block if it is mapped.
  std::optional<Pinned> PinIfMapped(const BlockKey& key);
  // Maps an unmapped block to a free slot (no valid sectors) and pins it;
  // nullopt when the block is already mapped or no slot is free. With
  // `for_promotion`, writers see promotion_in_flight until the pin is dropped.
  std::optional<Pinned> AllocateAndPin(const BlockKey& key, bool for_promotion);
  void Unpin(uint64_t slot);

  // Marks sectors valid if the block is still mapped to `slot` with stamp
  // `expected_stamp`; returns false and changes nothing otherwise. On success
  // the block gets a new stamp, returned through `new_stamp` when given.
  bool MarkValidIfUnchanged(const BlockKey& key, uint64_t slot, uint64_t expected_stamp,
                            uint32_t first_sector, uint32_t count);
  // Drops the validity of the given sectors with a new stamp; a block left with
  // no valid sector is unmapped at once (its slot is freed after the last pin).
  // Returns true when the block was mapped.
  bool Invalidate(const BlockKey& key, uint32_t first_sector, uint32_t count);
  // Unmaps the block whatever its state (external change, eviction).
  bool Drop(const BlockKey& key);

  // Restores a mapping loaded from the metadata store (O(1) each; a million
  // mappings load in one pass). Fails when the slot is out of range or already
  // used, or the bitmap is empty or of another size (a damaged store).
  bool Restore(const BlockKey& key, uint64_t slot, const SectorSet& valid);

  uint64_t mapped_blocks() const;
  uint64_t free_slots() const;

 private:
  struct KeyHash {
    size_t operator()(const BlockKey& k) const {
      return std::hash<uint64_t>()(k.object_id * 0x9E3779B97F4A7C15ull ^ k.block);
    }
  };
  struct Slot {
    BlockKey owner{0, 0};
    bool mapped = false;        // owner maps to this slot
    bool in_use = false;        // mapped or still pinned; not on the free list
    bool promoting = false;
    uint32_t pins = 0;
    uint64_t stamp = 0;
    SectorSet valid;
  };

  uint64_t NextStamp() { return ++last_stamp_; }
  void UnmapLocked(Slot& slot);
  void ReleaseIfIdleLocked(uint64_t slot_number);
  // Restore() marks slots used in bulk; the free list is rebuilt once, on demand.
  void RebuildFreeListIfStaleLocked() const;

  const uint64_t slot_count_;
  const uint32_t sectors_per_block_;
  mutable std::mutex mutex_;
  std::unordered_map<BlockKey, uint64_t, KeyHash> slot_of_;  // GUARDED_BY(mutex_)
  std::vector<Slot> slots_;                                  // GUARDED_BY(mutex_)
  mutable std::vector<uint64_t> free_list_;                  // GUARDED_BY(mutex_)
  mutable bool free_list_stale_ = false;                     // GUARDED_BY(mutex_)
  uint64_t last_stamp_ = 0;                                  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
