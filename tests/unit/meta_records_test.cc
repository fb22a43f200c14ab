// SPDX-License-Identifier: Apache-2.0
// Metadata records round-trip exactly, and any damaged encoding is rejected.
#include <gtest/gtest.h>

#include "wtcachefs/meta_records.h"

namespace wtcachefs {
namespace {

Superblock SampleSuperblock() {
  Superblock sb;
  for (size_t i = 0; i < sb.cache_uuid.size(); ++i) sb.cache_uuid[i] = static_cast<uint8_t>(i * 7);
  sb.block_size = 1 << 20;
  sb.slot_count = 123456789;
  sb.origin_dev = 0x801;
  sb.origin_ino = 42;
  sb.origin_path = "/mnt/slow dir/with,comma";
  sb.clean_shutdown = true;
  return sb;
}

TEST(MetaRecords, SuperblockRoundTrips) {
  const Superblock sb = SampleSuperblock();
  auto decoded = DecodeSuperblock(EncodeSuperblock(sb));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded.value(), sb);
}

TEST(MetaRecords, EveryTruncatedOrExtendedSuperblockIsRejected) {
  const std::string bytes = EncodeSuperblock(SampleSuperblock());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeSuperblock(bytes.substr(0, n)).ok()) << "length " << n;
  }
  EXPECT_FALSE(DecodeSuperblock(bytes + "x").ok());
}

TEST(MetaRecords, SuperblockWithAnotherFormatVersionIsRefusedByName) {
  Superblock sb = SampleSuperblock();
  sb.format_version = 99;
  auto decoded = DecodeSuperblock(EncodeSuperblock(sb));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().error(), EPROTO);
  EXPECT_NE(decoded.status().message().find("99"), std::string::npos);
}

TEST(MetaRecords, SuperblockWithInvalidBlockSizeIsCorrupt) {
  for (uint32_t bad : {0u, 2048u, 65535u, 8u << 20}) {
    Superblock sb = SampleSuperblock();
    sb.block_size = bad;
    EXPECT_FALSE(DecodeSuperblock(EncodeSuperblock(sb)).ok()) << bad;
  }
}

TEST(MetaRecords, BlockSizesArePowersOfTwoFrom4KiBTo4MiB) {
  EXPECT_TRUE(IsValidBlockSize(4096));
  EXPECT_TRUE(IsValidBlockSize(64 * 1024));
  EXPECT_TRUE(IsValidBlockSize(4 << 20));
  EXPECT_FALSE(IsValidBlockSize(2048));
  EXPECT_FALSE(IsValidBlockSize(8 << 20));
  EXPECT_FALSE(IsValidBlockSize(96 * 1024));
}

TEST(MetaRecords, FileRecordRoundTripsIncludingNegativeTimes) {
  FileRecord record{77, Fingerprint{1, 2, 3, -1'000'000'001, 1'700'000'000'123'456'789}};
  auto decoded = DecodeFileRecord(EncodeFileRecord(record));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), record);
  const std::string bytes = EncodeFileRecord(record);
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(DecodeFileRecord(bytes.substr(0, n)).ok());
}

TEST(MetaRecords, MappingRoundTripsAndChecksTheBitmapLength) {
  BlockMapping mapping{5, 1u << 30, 999, std::vector<uint8_t>(2, 0xA5)};  // 16 sectors
  const std::string key = EncodeMappingKey(mapping.object_id, mapping.block);
  const std::string value = EncodeMappingValue(mapping);
  auto decoded = DecodeMapping(key, value, 16);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), mapping);
  EXPECT_FALSE(DecodeMapping(key, value, 32).ok());   // another block size
  EXPECT_FALSE(DecodeMapping(key, value, 8).ok());
  EXPECT_FALSE(DecodeMapping(key.substr(1), value, 16).ok());
  EXPECT_FALSE(DecodeMapping(key, value.substr(0, 9), 16).ok());
}

TEST(MetaRecords, MappingKeysSortByObjectThenBlockNumerically) {
  EXPECT_LT(EncodeMappingKey(1, 255), EncodeMappingKey(1, 256));
  EXPECT_LT(EncodeMappingKey(1, ~0ull), EncodeMappingKey(2, 0));
}

TEST(MetaRecords, DeviceNumberRoundTripsAndEveryTruncatedOrExtendedOneIsRejected) {
  const DeviceNumberRecord record{0xfd000000002aull, kMaxDeviceNumber};
  const std::string key = EncodeDeviceNumberKey(record.dev);
  const std::string value = EncodeDeviceNumberValue(record);
  auto decoded = DecodeDeviceNumber(key, value);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded.value(), record);
  for (size_t n = 0; n < value.size(); ++n) {
    EXPECT_EQ(DecodeDeviceNumber(key, value.substr(0, n)).status().error(), EUCLEAN) << n;
  }
  EXPECT_EQ(DecodeDeviceNumber(key, value + "x").status().error(), EUCLEAN);
  EXPECT_EQ(DecodeDeviceNumber(key.substr(1), value).status().error(), EUCLEAN);
  EXPECT_EQ(DecodeDeviceNumber(key + "x", value).status().error(), EUCLEAN);
}

TEST(MetaRecords, DeviceNumberOutsideTheDeviceSpaceIsCorrupt) {
  for (uint32_t bad : {0u, kMaxDeviceNumber + 1, ~0u}) {
    const DeviceNumberRecord record{7, bad};
    auto decoded =
        DecodeDeviceNumber(EncodeDeviceNumberKey(record.dev), EncodeDeviceNumberValue(record));
    EXPECT_EQ(decoded.status().error(), EUCLEAN) << bad;
  }
}

TEST(MetaRecords, DeviceNumberOfAnotherVersionIsRefusedByName) {
  std::string value = EncodeDeviceNumberValue(DeviceNumberRecord{7, 1});
  value[0] = 9;
  auto decoded = DecodeDeviceNumber(EncodeDeviceNumberKey(7), value);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().error(), EPROTO);
  EXPECT_NE(decoded.status().message().find("version 9"), std::string::npos);
}

}  // namespace
}  // namespace wtcachefs
