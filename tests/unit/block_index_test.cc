// The block index: sector validity, slot allocation, pins that keep slots from
// reuse during IO, and stamps that stop a raced promotion from installing (W5).
#include <gtest/gtest.h>

#include <set>

#include "wtcachefs/block_index.h"

namespace wtcachefs {
namespace {

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

TEST(BlockIndex, AllocatedBlockIsFoundWithItsValidSectors) {
  BlockIndex index(4, 16);
  const BlockKey key{1, 7};
  auto pinned = index.AllocateAndPin(key, false);
  ASSERT_TRUE(pinned);
  EXPECT_TRUE(index.MarkValidIfUnchanged(key, pinned->slot, pinned->stamp, 0, 16));
  index.Unpin(pinned->slot);
  auto found = index.PinIfMapped(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->slot, pinned->slot);
  EXPECT_TRUE(found->valid.All(0, 16));
  index.Unpin(found->slot);
  EXPECT_EQ(index.mapped_blocks(), 1u);
  EXPECT_EQ(index.free_slots(), 3u);
}

TEST(BlockIndex, NoSlotIsHandedOutTwiceAndAFullIndexRefuses) {
  BlockIndex index(8, 1);
  std::set<uint64_t> slots;
  for (uint64_t b = 0; b < 8; ++b) {
    auto pinned = index.AllocateAndPin({1, b}, false);
    ASSERT_TRUE(pinned);
    EXPECT_TRUE(slots.insert(pinned->slot).second);
  }
  EXPECT_FALSE(index.AllocateAndPin({1, 99}, false));
}

TEST(BlockIndex, InvalidatedSlotIsNotReusedWhilePinned) {
  BlockIndex index(1, 1);
  const BlockKey a{1, 0};
  auto pinned = index.AllocateAndPin(a, false);
  ASSERT_TRUE(pinned);
  ASSERT_TRUE(index.MarkValidIfUnchanged(a, pinned->slot, pinned->stamp, 0, 1));
  EXPECT_TRUE(index.Invalidate(a, 0, 1));
  EXPECT_FALSE(index.PinIfMapped(a)) << "an invalidated block must not be served";
  EXPECT_FALSE(index.AllocateAndPin({2, 0}, false)) << "slot reused while IO is in flight";
  index.Unpin(pinned->slot);
  EXPECT_TRUE(index.AllocateAndPin({2, 0}, false));
}

TEST(BlockIndex, PromotionRacedByAWriteNeverInstalls) {
  // Forced interleaving: promotion pins and reads origin; a write arrives,
  // sees the promotion in flight and invalidates; the promotion then tries to
  // install its (older) bytes.
  BlockIndex index(2, 16);
  const BlockKey key{3, 3};
  auto promotion = index.AllocateAndPin(key, true);
  ASSERT_TRUE(promotion);
  auto writer = index.PinIfMapped(key);
  ASSERT_TRUE(writer);
  EXPECT_TRUE(writer->promotion_in_flight);
  EXPECT_TRUE(index.Invalidate(key, 0, 16));
  index.Unpin(writer->slot);
  EXPECT_FALSE(index.MarkValidIfUnchanged(key, promotion->slot, promotion->stamp, 0, 16));
  index.Unpin(promotion->slot);
  EXPECT_FALSE(index.PinIfMapped(key));
  EXPECT_EQ(index.free_slots(), 2u);
}

TEST(BlockIndex, StaleStampFromAnEarlierMappingOfTheSameSlotIsRejected) {
  // Unmap and remap the same block into the same slot: the old stamp must not
  // match the new mapping (no ABA).
  BlockIndex index(1, 1);
  const BlockKey key{5, 5};
  auto first = index.AllocateAndPin(key, true);
  ASSERT_TRUE(first);
  index.Drop(key);
  index.Unpin(first->slot);
  auto second = index.AllocateAndPin(key, true);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->slot, first->slot);
  EXPECT_FALSE(index.MarkValidIfUnchanged(key, first->slot, first->stamp, 0, 1));
  EXPECT_TRUE(index.MarkValidIfUnchanged(key, second->slot, second->stamp, 0, 1));
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
  auto pinned = index.AllocateAndPin({9, 9}, false);
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

}  // namespace
}  // namespace wtcachefs
