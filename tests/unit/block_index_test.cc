// SPDX-License-Identifier: Apache-2.0
// The block index: sector validity, slot allocation, pins that keep slots from
// reuse during IO, and stamps that stop a raced promotion from installing (W5).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "wtcachefs/block_index.h"

namespace wtcachefs {
namespace {

// Makes every unmapping so far "durable": quarantined slots become free.
void Settle(BlockIndex& index) { index.ReleaseQuarantined(index.TakeChanges().quarantined_slots); }

TEST(SectorSet, SetClearAndRoundTripThroughBytes) {
  SectorSet set(16);
  set.Set(3, 5);
  EXPECT_TRUE(set.All(3, 5));
  EXPECT_FALSE(set.All(2, 2));
  EXPECT_EQ(set.Count(), 5u);
  set.Clear(4, 1);
  EXPECT_FALSE(set.Test(4));
  EXPECT_EQ(SectorSet::FromBytes(set.ToBytes(), 16), set);
  EXPECT_EQ(set.ToBytes().size(), 2u);
}

TEST(SectorSet, LargeBlocksUseManyWordsAndIgnoreBitsPastTheEnd) {
  SectorSet set(1024);  // 4 MiB block
  set.Set(1000, 24);
  EXPECT_TRUE(set.All(1000, 24));
  EXPECT_EQ(SectorSet::FromBytes(set.ToBytes(), 1024), set);
  const SectorSet partial = SectorSet::FromBytes({0xFF}, 3);
  EXPECT_EQ(partial.Count(), 3u);
}

TEST(BlockIndex, PromotedBlockIsFoundWithItsValidSectors) {
  BlockIndex index(4, 16);
  const BlockKey key{1, 7};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  EXPECT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));
  auto found = index.PinForRead(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->slot, promotion->slot);
  EXPECT_TRUE(found->valid.All(0, 16));
  index.Unpin(found->slot);
  EXPECT_EQ(index.mapped_blocks(), 1u);
  EXPECT_EQ(index.free_slots(), 3u);
}

TEST(BlockIndex, FailedPromotionLeavesNothingMapped) {
  BlockIndex index(1, 16);
  const BlockKey key{1, 1};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  EXPECT_FALSE(index.EndPromotion(key, *promotion, 0, 16, /*copied=*/false));
  EXPECT_FALSE(index.PinForRead(key));
  Settle(index);
  EXPECT_EQ(index.free_slots(), 1u);
}

TEST(BlockIndex, NoSlotIsHandedOutTwiceAndAFullIndexRefuses) {
  BlockIndex index(8, 1);
  std::set<uint64_t> slots;
  for (uint64_t b = 0; b < 8; ++b) {
    auto pinned = index.BeginWrite({1, b}, /*allocate=*/true);
    ASSERT_TRUE(pinned);
    EXPECT_TRUE(slots.insert(pinned->slot).second);
  }
  EXPECT_FALSE(index.BeginWrite({1, 99}, true));
  index.EndUncachedWrite({1, 99});
  EXPECT_FALSE(index.BeginPromotion({1, 99})) << "every slot is pinned by a write";
}

TEST(BlockIndex, WriteWithoutAllocateLeavesUnmappedBlocksAlone) {
  BlockIndex index(2, 16);
  EXPECT_FALSE(index.BeginWrite({1, 1}, /*allocate=*/false));
  EXPECT_EQ(index.mapped_blocks(), 0u);
  index.EndUncachedWrite({1, 1});
}

TEST(BlockIndex, PromotionDuringAWriteWithoutASlotIsRefused) {
  // Forced interleaving: a write goes to origin only (write-around, or no free
  // slot); a read miss of the same block starts before the origin write landed.
  // Its origin bytes may be the old ones: it must not be cached.
  BlockIndex index(4, 16);
  const BlockKey key{6, 6};
  EXPECT_FALSE(index.BeginWrite(key, /*allocate=*/false));
  EXPECT_FALSE(index.BeginPromotion(key)) << "a promotion could cache bytes older than the write";
  index.EndUncachedWrite(key);
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion) << "the write is over: promotions go on";
  EXPECT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));

  // The same for a write in degraded mode, which asks for no slot at all.
  const BlockKey other{6, 7};
  index.BeginUncachedWrite(other);
  EXPECT_FALSE(index.BeginPromotion(other));
  index.EndUncachedWrite(other);
  EXPECT_TRUE(index.BeginPromotion(other));
}

TEST(BlockIndex, WriteValidatesCoveredSectorsAndKeepsPartlyWrittenOnesAsTheyWere) {
  BlockIndex index(2, 16);
  const BlockKey key{1, 0};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  ASSERT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));
  auto write = index.BeginWrite(key, false);
  ASSERT_TRUE(write);
  // Wrote sectors 2..5 of a fully valid block, fully covering 3..4 only:
  // 2 and 5 got the same partial update on origin and slot, so stay valid.
  index.EndWrite(key, *write, 2, 4, 3, 2, /*cached=*/true);
  auto found = index.PinForRead(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->valid.Count(), 16u);
  index.Unpin(found->slot);

  // On a fresh (write-allocated) block only the fully written sectors are valid.
  const BlockKey fresh{1, 1};
  auto allocated = index.BeginWrite(fresh, /*allocate=*/true);
  ASSERT_TRUE(allocated);
  index.EndWrite(fresh, *allocated, 2, 4, 3, 2, /*cached=*/true);
  auto partial = index.PinForRead(fresh);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->valid.Count(), 2u);
  EXPECT_TRUE(partial->valid.All(3, 2));
  index.Unpin(partial->slot);
}

TEST(BlockIndex, WriteThatInvalidatesPartialSectorsValidatesOnlyTheCoveredOnes) {
  BlockIndex index(2, 16);
  const BlockKey key{1, 0};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  ASSERT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));
  auto write = index.BeginWrite(key, false);
  ASSERT_TRUE(write);
  // Wrote sectors 2..5, fully covering 3..4: the checksums of 2 and 5 would
  // need bytes the write does not have, so they become invalid.
  index.EndWrite(key, *write, 2, 4, 3, 2, /*cached=*/true,
                 BlockIndex::PartialSectors::kInvalidate);
  auto found = index.PinForRead(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->valid.Count(), 14u);
  EXPECT_FALSE(found->valid.Test(2));
  EXPECT_TRUE(found->valid.All(3, 2));
  EXPECT_FALSE(found->valid.Test(5));
  index.Unpin(found->slot);
}

TEST(BlockIndex, DropAfterAChecksumMismatchOnlyWhenNoWriteExplainsIt) {
  BlockIndex index(4, 16);
  const BlockKey key{1, 0};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  ASSERT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));

  // A write landed between the pin and the verification: a torn read.
  auto read = index.PinForRead(key);
  ASSERT_TRUE(read);
  auto write = index.BeginWrite(key, false);
  ASSERT_TRUE(write);
  EXPECT_FALSE(index.DropIfUnchangedSincePin(key, *read)) << "a write in flight";
  index.EndWrite(key, *write, 0, 16, 0, 16, true, BlockIndex::PartialSectors::kInvalidate);
  EXPECT_FALSE(index.DropIfUnchangedSincePin(key, *read)) << "a write landed since the pin";
  index.Unpin(read->slot);
  EXPECT_EQ(index.mapped_blocks(), 1u);

  // Nothing changed since the pin: corrupt, unmapped; the slot waits for the pin.
  read = index.PinForRead(key);
  ASSERT_TRUE(read);
  EXPECT_TRUE(index.DropIfUnchangedSincePin(key, *read));
  EXPECT_EQ(index.mapped_blocks(), 0u);
  EXPECT_FALSE(index.PinForRead(key));
  EXPECT_FALSE(index.DropIfUnchangedSincePin(key, *read)) << "dropped twice";
  index.Unpin(read->slot);
}

TEST(BlockIndex, FailedCacheWriteInvalidatesEveryWrittenSector) {
  BlockIndex index(2, 16);
  const BlockKey key{1, 0};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  ASSERT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));
  auto write = index.BeginWrite(key, false);
  ASSERT_TRUE(write);
  index.EndWrite(key, *write, 0, 8, 0, 8, /*cached=*/false);
  auto found = index.PinForRead(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->valid.Count(), 8u);
  EXPECT_FALSE(found->valid.Test(0));
  index.Unpin(found->slot);
}

TEST(BlockIndex, InvalidatedSlotIsNotReusedWhilePinned) {
  BlockIndex index(1, 1);
  const BlockKey a{1, 0};
  auto promotion = index.BeginPromotion(a);
  ASSERT_TRUE(promotion);
  ASSERT_TRUE(index.EndPromotion(a, *promotion, 0, 1, true));
  auto reader = index.PinForRead(a);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(index.Invalidate(a, 0, 1));
  EXPECT_FALSE(index.PinForRead(a)) << "an invalidated block must not be served";
  EXPECT_FALSE(index.BeginPromotion({2, 0})) << "slot reused while a read is in flight";
  index.Unpin(reader->slot);
  EXPECT_FALSE(index.BeginPromotion({2, 0})) << "slot reused before its unmapping is durable";
  Settle(index);
  EXPECT_TRUE(index.BeginPromotion({2, 0}));
}

TEST(BlockIndex, WriteDuringPromotionDefeatsThePromotion) {
  // Forced interleaving: the promotion has read origin's old bytes; a write
  // arrives before the promotion installs them.
  BlockIndex index(2, 16);
  const BlockKey key{3, 3};
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  EXPECT_FALSE(index.BeginWrite(key, /*allocate=*/true))
      << "the write must not touch a slot a promotion is filling";
  EXPECT_FALSE(index.EndPromotion(key, *promotion, 0, 16, true));
  EXPECT_FALSE(index.PinForRead(key));
  EXPECT_FALSE(index.BeginPromotion(key)) << "the write to origin is still in flight";
  index.EndUncachedWrite(key);
  Settle(index);
  EXPECT_EQ(index.free_slots(), 2u);
}

TEST(BlockIndex, PromotionDuringWriteIsRefused) {
  BlockIndex index(2, 16);
  const BlockKey key{4, 4};
  auto write = index.BeginWrite(key, /*allocate=*/true);
  ASSERT_TRUE(write);
  EXPECT_FALSE(index.BeginPromotion(key)) << "a promotion could overwrite the write's bytes";
  index.EndWrite(key, *write, 0, 16, 0, 16, true);
  auto promotion = index.BeginPromotion(key);
  ASSERT_TRUE(promotion);
  EXPECT_TRUE(index.EndPromotion(key, *promotion, 0, 16, true));
}

TEST(BlockIndex, StaleStampFromAnEarlierMappingOfTheSameSlotIsRejected) {
  // Unmap and remap the same block into the same slot: the old stamp must not
  // match the new mapping (no ABA).
  BlockIndex index(1, 1);
  const BlockKey key{5, 5};
  auto first = index.BeginPromotion(key);
  ASSERT_TRUE(first);
  index.Drop(key);
  EXPECT_FALSE(index.EndPromotion(key, *first, 0, 1, true));
  Settle(index);
  auto second = index.BeginPromotion(key);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->slot, first->slot);
  EXPECT_FALSE(index.EndPromotion(key, *first, 0, 1, true));
  EXPECT_FALSE(index.PinForRead(key));
}

TEST(BlockIndex, DropFromUnmapsTheTailOfAnObject) {
  BlockIndex index(10, 1);
  for (uint64_t b = 0; b < 5; ++b) {
    auto p = index.BeginPromotion({7, b});
    ASSERT_TRUE(p);
    ASSERT_TRUE(index.EndPromotion({7, b}, *p, 0, 1, true));
  }
  auto other = index.BeginPromotion({8, 4});
  ASSERT_TRUE(other);
  ASSERT_TRUE(index.EndPromotion({8, 4}, *other, 0, 1, true));
  EXPECT_EQ(index.DropFrom(7, 2), 3u);
  EXPECT_EQ(index.mapped_blocks(), 3u);
  EXPECT_TRUE(index.PinForRead({8, 4}));
}

TEST(BlockIndex, KeysBeyond32BitsAreNeverCached) {
  // The index keeps object ids and block numbers in 32 bits each: anything
  // larger is served from origin, never mapped (and never confused with the
  // key its low bits name).
  BlockIndex index(4, 16);
  const BlockKey far_object{uint64_t{1} << 32, 0};
  const BlockKey far_block{1, uint64_t{1} << 32};
  EXPECT_FALSE(index.BeginPromotion(far_object, /*filtered=*/false));
  EXPECT_FALSE(index.BeginWrite(far_block, /*allocate=*/true));
  index.EndUncachedWrite(far_block);
  SectorSet valid(16);
  valid.Set(0, 16);
  EXPECT_FALSE(index.Restore(far_object, 0, valid));
  const auto near = index.BeginPromotion({0, 0}, /*filtered=*/false);
  ASSERT_TRUE(near);
  index.EndPromotion({0, 0}, *near, 0, 16, true);
  EXPECT_FALSE(index.PinForRead(far_object)) << "read as the block its low bits name";
  EXPECT_EQ(index.mapped_blocks(), 1u);
}

TEST(BlockIndex, RestoreRejectsDamagedMappings) {
  BlockIndex index(4, 16);
  SectorSet valid(16);
  valid.Set(0, 16);
  EXPECT_TRUE(index.Restore({1, 1}, 2, valid));
  EXPECT_FALSE(index.Restore({1, 2}, 2, valid)) << "slot mapped twice";
  EXPECT_FALSE(index.Restore({1, 3}, 4, valid)) << "slot out of range";
  EXPECT_FALSE(index.Restore({1, 1}, 3, valid)) << "block mapped twice";
  EXPECT_FALSE(index.Restore({1, 4}, 3, SectorSet(16))) << "no valid sector";
  EXPECT_FALSE(index.Restore({1, 5}, 3, SectorSet(8))) << "bitmap of another block size";
  EXPECT_EQ(index.free_slots(), 3u);
  auto pinned = index.BeginWrite({9, 9}, true);
  ASSERT_TRUE(pinned);
  EXPECT_NE(pinned->slot, 2u);
}

TEST(BlockIndex, AMillionMappingsRestoreInOnePass) {
  constexpr uint64_t kBlocks = 1'000'000;
  BlockIndex index(kBlocks + 10, 16);
  SectorSet valid(16);
  valid.Set(0, 16);
  for (uint64_t b = 0; b < kBlocks; ++b) ASSERT_TRUE(index.Restore({b / 1000, b % 1000}, b, valid));
  EXPECT_EQ(index.mapped_blocks(), kBlocks);
  EXPECT_EQ(index.free_slots(), 10u);
}


// Promotes `count` blocks of object 1 from block `first`; returns their slots.
std::vector<uint64_t> Fill(BlockIndex& index, uint64_t first, uint64_t count) {
  std::vector<uint64_t> slots;
  for (uint64_t b = first; b < first + count; ++b) {
    auto promotion = index.BeginPromotion({1, b});
    if (!promotion) continue;
    if (index.EndPromotion({1, b}, *promotion, 0, 1, true)) slots.push_back(promotion->slot);
  }
  return slots;
}

TEST(BlockIndexSpaceLimit, NoMoreSlotsThanTheLimitHoldData) {
  BlockIndex index(128, 1);
  index.SetSpaceLimit(10);
  for (uint64_t b = 0; b < 100; ++b) {
    Fill(index, b, 1);
    Settle(index);  // a group commit after each: evicted slots come back
  }
  EXPECT_LE(index.held_slots(), 10u);
  EXPECT_GE(index.mapped_blocks(), 9u) << "the cache still caches within its limit";
  std::set<uint64_t> used;
  for (uint64_t b = 0; b < 100; ++b) {
    if (auto pinned = index.PinForRead({1, b})) {
      used.insert(pinned->slot);
      index.Unpin(pinned->slot);
    }
  }
  EXPECT_LE(used.size(), 10u);
}

TEST(BlockIndexSpaceLimit, LoweringTheLimitEvictsAndRaisingItLetsTheCacheGrowAgain) {
  BlockIndex index(128, 1);
  Fill(index, 0, 100);
  Settle(index);
  ASSERT_EQ(index.mapped_blocks(), 100u);
  index.SetSpaceLimit(40);
  EXPECT_LE(index.mapped_blocks(), 40u - 1) << "the reserve is kept free below the limit";
  EXPECT_GE(index.mapped_blocks(), 30u);
  Settle(index);
  EXPECT_EQ(index.held_slots(), 100u) << "evicted slots hold their room until discarded";
  {
    const std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
    index.ReturnLentSlots(lent, lent.size());
  }
  EXPECT_LE(index.held_slots(), 40u);
  index.SetSpaceLimit(0);
  EXPECT_EQ(index.mapped_blocks(), 0u);
  EXPECT_TRUE(Fill(index, 200, 5).empty()) << "a limit of 0 caches nothing";
  Settle(index);
  index.SetSpaceLimit(1000);
  EXPECT_EQ(index.space_limit(), 128u) << "capped at the slot count";
  EXPECT_EQ(Fill(index, 300, 50).size(), 50u);
}

TEST(BlockIndexSpaceLimit, FreeSlotsAreLentForDiscardOnceAndNeverAllocatedMeanwhile) {
  BlockIndex index(16, 1);
  const std::vector<uint64_t> slots = Fill(index, 0, 8);
  ASSERT_EQ(slots.size(), 8u);
  EXPECT_EQ(index.fresh_slots_from(), 8u);
  for (uint64_t b = 0; b < 4; ++b) index.Drop({1, b});
  Settle(index);
  std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
  EXPECT_EQ(lent.size(), 4u);
  // While lent, the free slots are the 8 never used: 8 more promotions fill
  // them, and none lands on a lent slot.
  const std::vector<uint64_t> more = Fill(index, 100, 9);
  for (const uint64_t slot : more) {
    EXPECT_EQ(std::count(lent.begin(), lent.end(), slot), 0) << "slot " << slot << " was lent";
  }
  index.ReturnLentSlots(lent, lent.size());
  Settle(index);
  for (const uint32_t slot : index.TakeFreeSlotsToDiscard()) {
    EXPECT_EQ(std::count(lent.begin(), lent.end(), slot), 0) << "slot " << slot << " lent twice";
  }
}

TEST(BlockIndexSpaceLimit, AtTheLimitSlotsStillHoldingDataAreReusedBeforeDiscardedOnes) {
  BlockIndex index(16, 1);
  const std::vector<uint64_t> slots = Fill(index, 0, 8);
  ASSERT_EQ(slots.size(), 8u);
  index.Drop({1, 0});
  index.Drop({1, 1});
  Settle(index);
  const std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
  ASSERT_EQ(lent.size(), 2u);
  index.ReturnLentSlots(lent, lent.size());
  index.Drop({1, 2});
  index.Drop({1, 3});
  Settle(index);  // blocks 2 and 3 free their slots, which still hold data
  EXPECT_EQ(index.held_slots(), 6u);
  index.SetSpaceLimit(6);  // no new room
  const std::vector<uint64_t> reused = Fill(index, 100, 2);
  ASSERT_EQ(reused.size(), 2u) << "slots holding data cost no room and must be reused";
  for (const uint64_t slot : reused) {
    EXPECT_TRUE(slot == slots[2] || slot == slots[3]) << "slot " << slot << " takes new room";
  }
}

TEST(BlockIndexSpaceLimit, SlotsWhoseDiscardFailedStillCountAsHoldingRoom) {
  BlockIndex index(16, 1);
  ASSERT_EQ(Fill(index, 0, 4).size(), 4u);
  for (uint64_t b = 0; b < 4; ++b) index.Drop({1, b});
  Settle(index);
  const std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
  ASSERT_EQ(lent.size(), 4u);
  EXPECT_EQ(index.held_slots(), 4u) << "lent slots hold their room until returned";
  index.ReturnLentSlots(lent, 1);  // the punch failed after the first
  EXPECT_EQ(index.held_slots(), 3u);
  EXPECT_EQ(index.TakeFreeSlotsToDiscard().size(), 3u) << "the others are lent again";
}

// DESIGN W4 and the pins: a slot whose unmapping is not durable yet, or that
// IO still uses, is never lent for its data to be discarded.
TEST(BlockIndexSpaceLimit, QuarantinedAndPinnedSlotsAreNeverLentForDiscard) {
  BlockIndex index(8, 1);
  const std::vector<uint64_t> slots = Fill(index, 0, 2);
  ASSERT_EQ(slots.size(), 2u);
  auto pinned = index.PinForRead({1, 1});
  ASSERT_TRUE(pinned);
  index.Drop({1, 0});
  index.Drop({1, 1});
  BlockIndex::Changes changes = index.TakeChanges();
  EXPECT_TRUE(index.TakeFreeSlotsToDiscard().empty()) << "lent before the unmapping was durable";
  index.ReleaseQuarantined(changes.quarantined_slots);
  const std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
  EXPECT_EQ(lent, std::vector<uint32_t>{static_cast<uint32_t>(slots[0])})
      << "only the durable, unpinned slot";
  index.ReturnLentSlots(lent, lent.size());
  index.Unpin(pinned->slot);
  Settle(index);
  EXPECT_EQ(index.TakeFreeSlotsToDiscard(), std::vector<uint32_t>{static_cast<uint32_t>(slots[1])});
}

TEST(BlockIndexSpaceLimit, ASlotAllocatedAgainAfterItsDiscardIsLentAgainWhenFree) {
  BlockIndex index(4, 1);
  ASSERT_EQ(Fill(index, 0, 2).size(), 2u);
  index.Drop({1, 0});
  Settle(index);
  const std::vector<uint32_t> lent = index.TakeFreeSlotsToDiscard();
  ASSERT_EQ(lent.size(), 1u);
  index.ReturnLentSlots(lent, lent.size());
  EXPECT_TRUE(index.TakeFreeSlotsToDiscard().empty());
  ASSERT_EQ(Fill(index, 10, 1), std::vector<uint64_t>{lent[0]});
  index.Drop({1, 10});
  Settle(index);
  EXPECT_EQ(index.TakeFreeSlotsToDiscard(), lent) << "it holds data again";
}

}  // namespace
}  // namespace wtcachefs

namespace wtcachefs {
namespace {

TEST(BlockIndexChanges, ReportEachChangedBlockOnceWithItsCurrentState) {
  BlockIndex index(4, 16);
  auto a = index.BeginPromotion({1, 0});
  ASSERT_TRUE(a);
  ASSERT_TRUE(index.EndPromotion({1, 0}, *a, 0, 16, true));
  auto b = index.BeginPromotion({1, 1});
  ASSERT_TRUE(b);
  ASSERT_TRUE(index.EndPromotion({1, 1}, *b, 0, 16, true));
  index.Invalidate({1, 1}, 0, 16);
  BlockIndex::Changes changes = index.TakeChanges();
  ASSERT_EQ(changes.blocks.size(), 2u);
  for (const auto& block : changes.blocks) {
    if (block.key.block == 0) {
      ASSERT_TRUE(block.mapping);
      EXPECT_EQ(block.mapping->first, a->slot);
      EXPECT_EQ(block.mapping->second.Count(), 16u);
    } else {
      EXPECT_FALSE(block.mapping) << "an unmapped block must be reported as deleted";
    }
  }
  EXPECT_EQ(changes.quarantined_slots, std::vector<uint64_t>{b->slot});
  EXPECT_TRUE(index.TakeChanges().blocks.empty());
}

TEST(BlockIndexChanges, QuarantinedSlotIsReusedOnlyAfterRelease) {
  BlockIndex index(1, 1);
  auto a = index.BeginPromotion({1, 0});
  ASSERT_TRUE(a);
  ASSERT_TRUE(index.EndPromotion({1, 0}, *a, 0, 1, true));
  index.Drop({1, 0});
  BlockIndex::Changes changes = index.TakeChanges();
  EXPECT_FALSE(index.BeginPromotion({2, 0})) << "reused before the unmapping was durable";
  index.ReleaseQuarantined(changes.quarantined_slots);
  EXPECT_TRUE(index.BeginPromotion({2, 0}));
}

}  // namespace
}  // namespace wtcachefs

namespace wtcachefs {
namespace {

TEST(IndexTable, AgreesWithAModelThroughInsertsAndErasesAtFullLoad) {
  // References 0..kRefs-1 with random keys; the table at its capacity most
  // of the time, so that runs are long and wrap around the end.
  constexpr uint32_t kRefs = 5000;
  std::vector<uint64_t> key_of(kRefs);
  std::vector<bool> present(kRefs, false);
  IndexTable table(kRefs);
  const auto hash_of = [&](uint32_t ref) { return Mix64(key_of[ref]); };
  uint64_t seed = 99, count = 0;
  const auto random = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  for (int step = 0; step < 400000; ++step) {
    // A bulk load (homes kept aside) in the middle: both ways must agree.
    if (step == 100000) table.BeginBulkLoad(hash_of);
    if (step == 300000) table.EndBulkLoad();
    const auto ref = static_cast<uint32_t>(random(kRefs));
    if (!present[ref]) {
      // Few distinct keys' homes: many collisions of home cells.
      key_of[ref] = random(1u << 20);
      table.Insert(Mix64(key_of[ref]), ref, hash_of);
      present[ref] = true;
      ++count;
    } else if (random(8) < 3 || count == kRefs) {
      ASSERT_TRUE(table.Erase(Mix64(key_of[ref]), ref, hash_of));
      present[ref] = false;
      --count;
    }
    const auto probe = static_cast<uint32_t>(random(kRefs));
    const uint32_t found = table.Find(
        Mix64(key_of[probe]), [&](uint32_t r) { return r == probe; }, hash_of);
    ASSERT_EQ(found, present[probe] ? probe : IndexTable::kNone) << "step " << step;
    if (!present[probe]) {
      ASSERT_FALSE(table.Erase(Mix64(key_of[probe]), probe, hash_of));
    }
  }
  EXPECT_LE(table.memory_bytes(), kRefs * 4.5 + 8);
}

}  // namespace
}  // namespace wtcachefs
