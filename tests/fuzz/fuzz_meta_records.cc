// SPDX-License-Identifier: Apache-2.0
// Fuzzes the decoding of every metadata record read back from the cache's store:
// the superblock, file records, block mappings (key and value), the view's
// device numbers (key and value), the write lease, and the ByteReader that the intent-log keys and the persisted counters are decoded
// with (src/meta/meta_store.cc). The first input byte picks what is fuzzed; the
// rest is the record (see meta_record_input.h, which the seed generator shares).
//
// Properties checked besides "no crash, no undefined behaviour, no leak":
//  - the encoding is canonical: a record that decodes re-encodes to exactly the
//    bytes it was decoded from, and decodes again to the same value;
//  - a record that does not decode fails with EUCLEAN (damaged) or EPROTO (a
//    format version this build does not read) and a message;
//  - a record built from fuzzed fields encodes, and decodes back to itself
//    exactly when its fields are valid (block size, path length, version,
//    device number range);
//  - ByteReader reads big-endian fixed widths, consumes nothing on a short
//    read, and ByteWriter writes back exactly the bytes it read.
#include <fuzzer/FuzzedDataProvider.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "meta/byte_codec.h"
#include "meta_record_input.h"
#include "wtcachefs/meta_records.h"

namespace wtcachefs {
namespace {

void CheckFailure(const Status& status, const char* what) {
  FUZZ_CHECK(!status.ok(), what);
  FUZZ_CHECK(status.error() == EUCLEAN || status.error() == EPROTO,
             std::string(what) + ": error " + std::to_string(status.error()));
  FUZZ_CHECK(!status.message().empty(), std::string(what) + ": no message");
}

void FuzzSuperblock(std::string_view bytes) {
  const Result<Superblock> sb = DecodeSuperblock(bytes);
  if (!sb.ok()) return CheckFailure(sb.status(), "superblock");
  FUZZ_CHECK(IsValidBlockSize(sb.value().block_size), "superblock with a bad block size");
  const std::string encoded = EncodeSuperblock(sb.value());
  FUZZ_CHECK(encoded == bytes, "superblock does not re-encode to its bytes");
  const Result<Superblock> again = DecodeSuperblock(encoded);
  FUZZ_CHECK(again.ok() && again.value() == sb.value(), "superblock round trip");
}

void FuzzFileRecord(std::string_view bytes) {
  const Result<FileRecord> record = DecodeFileRecord(bytes);
  if (!record.ok()) return CheckFailure(record.status(), "file record");
  const std::string encoded = EncodeFileRecord(record.value());
  FUZZ_CHECK(encoded == bytes, "file record does not re-encode to its bytes");
  const Result<FileRecord> again = DecodeFileRecord(encoded);
  FUZZ_CHECK(again.ok() && again.value() == record.value(), "file record round trip");
}

void FuzzMapping(std::string_view rest) {
  const MappingInput input = SplitMappingInput(rest);
  const Result<BlockMapping> mapping =
      DecodeMapping(input.key, input.value, input.sectors_per_block);
  if (!mapping.ok()) return CheckFailure(mapping.status(), "mapping");
  const BlockMapping& m = mapping.value();
  FUZZ_CHECK(m.valid_sectors.size() == (input.sectors_per_block + 7) / 8, "mapping bitmap size");
  FUZZ_CHECK(EncodeMappingKey(m.object_id, m.block) == input.key,
             "mapping key does not re-encode to its bytes");
  FUZZ_CHECK(EncodeMappingValue(m) == input.value, "mapping value does not re-encode to its bytes");
  const Result<BlockMapping> again = DecodeMapping(EncodeMappingKey(m.object_id, m.block),
                                                   EncodeMappingValue(m), input.sectors_per_block);
  FUZZ_CHECK(again.ok() && again.value() == m, "mapping round trip");
}

void FuzzDeviceNumber(std::string_view rest) {
  const KeyValueInput input = SplitDeviceNumberInput(rest);
  const Result<DeviceNumberRecord> record = DecodeDeviceNumber(input.key, input.value);
  if (!record.ok()) return CheckFailure(record.status(), "device number");
  const DeviceNumberRecord& r = record.value();
  FUZZ_CHECK(r.number >= 1 && r.number <= kMaxDeviceNumber, "device number out of range");
  FUZZ_CHECK(EncodeDeviceNumberKey(r.dev) == input.key,
             "device number key does not re-encode to its bytes");
  FUZZ_CHECK(EncodeDeviceNumberValue(r) == input.value,
             "device number value does not re-encode to its bytes");
  const Result<DeviceNumberRecord> again =
      DecodeDeviceNumber(EncodeDeviceNumberKey(r.dev), EncodeDeviceNumberValue(r));
  FUZZ_CHECK(again.ok() && again.value() == r, "device number round trip");
}

void FuzzWriteLease(std::string_view rest) {
  const Result<int64_t> until = DecodeWriteLease(rest);
  if (!until.ok()) return CheckFailure(until.status(), "write lease");
  FUZZ_CHECK(until.value() >= 0, "write lease before 1970");
  FUZZ_CHECK(EncodeWriteLease(until.value()) == rest, "write lease does not re-encode to its bytes");
}

// A script of reads (U8, U32, U64, Bytes(n)) run over the data after it.
void FuzzByteCodec(std::string_view rest) {
  if (rest.empty()) return;
  const size_t op_count = std::min<size_t>(static_cast<uint8_t>(rest[0]) % 32, rest.size() - 1);
  const std::string_view ops = rest.substr(1, op_count);
  const std::string_view data = rest.substr(1 + op_count);
  ByteReader reader(data);
  ByteWriter writer;
  size_t position = 0;  // bytes consumed so far, by our own count
  auto expect_big_endian = [&](size_t width, uint64_t got) {
    uint64_t expected = 0;
    for (size_t i = 0; i < width; ++i) {
      expected = (expected << 8) | static_cast<uint8_t>(data[position + i]);
    }
    FUZZ_CHECK(got == expected, "ByteReader value of width " + std::to_string(width));
  };
  for (const char op_byte : ops) {
    const uint8_t op = static_cast<uint8_t>(op_byte);
    const size_t left = data.size() - position;
    switch (op % 4) {
      case 0: {
        uint8_t v = 0;
        const bool ok = reader.U8(v);
        FUZZ_CHECK(ok == (left >= 1), "ByteReader::U8 on " + std::to_string(left));
        if (!ok) break;
        expect_big_endian(1, v);
        writer.U8(v);
        position += 1;
        break;
      }
      case 1: {
        uint32_t v = 0;
        const bool ok = reader.U32(v);
        FUZZ_CHECK(ok == (left >= 4), "ByteReader::U32 on " + std::to_string(left));
        if (!ok) break;
        expect_big_endian(4, v);
        writer.U32(v);
        position += 4;
        break;
      }
      case 2: {
        uint64_t v = 0;
        const bool ok = reader.U64(v);
        FUZZ_CHECK(ok == (left >= 8), "ByteReader::U64 on " + std::to_string(left));
        if (!ok) break;
        expect_big_endian(8, v);
        writer.U64(v);
        position += 8;
        break;
      }
      default: {
        const size_t n = op >> 2;
        std::string_view bytes;
        const bool ok = reader.Bytes(n, bytes);
        FUZZ_CHECK(ok == (left >= n), "ByteReader::Bytes(" + std::to_string(n) + ")");
        if (!ok) break;
        FUZZ_CHECK(bytes == data.substr(position, n), "ByteReader::Bytes content");
        writer.Bytes(bytes);
        position += n;
        break;
      }
    }
    FUZZ_CHECK(reader.AtEnd() == (position == data.size()), "ByteReader::AtEnd");
  }
  FUZZ_CHECK(writer.Take() == data.substr(0, position), "ByteWriter wrote other bytes");
}

// Records built from fuzzed fields, valid or not, through encode and decode.
void FuzzEncodeDecode(std::string_view rest) {
  FuzzedDataProvider in(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());

  Superblock sb;
  sb.format_version = in.ConsumeBool() ? kMetaFormatVersion : in.ConsumeIntegral<uint32_t>();
  for (uint8_t& byte : sb.cache_uuid) byte = in.ConsumeIntegral<uint8_t>();
  sb.block_size =
      in.ConsumeBool() ? 1u << in.ConsumeIntegralInRange(10, 24) : in.ConsumeIntegral<uint32_t>();
  sb.slot_count = in.ConsumeIntegral<uint64_t>();
  sb.origin_dev = in.ConsumeIntegral<uint64_t>();
  sb.origin_ino = in.ConsumeIntegral<uint64_t>();
  sb.origin_path = in.ConsumeRandomLengthString(5000);
  sb.clean_shutdown = in.ConsumeBool();
  const Result<Superblock> decoded_sb = DecodeSuperblock(EncodeSuperblock(sb));
  const bool sb_valid = sb.format_version == kMetaFormatVersion &&
                        IsValidBlockSize(sb.block_size) && sb.origin_path.size() <= 4096;
  FUZZ_CHECK(decoded_sb.ok() == sb_valid, "superblock acceptance after encoding");
  if (decoded_sb.ok()) FUZZ_CHECK(decoded_sb.value() == sb, "superblock encode-decode");
  if (!decoded_sb.ok()) CheckFailure(decoded_sb.status(), "encoded superblock");

  FileRecord record;
  record.object_id = in.ConsumeIntegral<uint64_t>();
  record.fingerprint.dev = in.ConsumeIntegral<uint64_t>();
  record.fingerprint.ino = in.ConsumeIntegral<uint64_t>();
  record.fingerprint.size = in.ConsumeIntegral<uint64_t>();
  record.fingerprint.mtime_ns = in.ConsumeIntegral<int64_t>();
  record.fingerprint.ctime_ns = in.ConsumeIntegral<int64_t>();
  const Result<FileRecord> decoded_record = DecodeFileRecord(EncodeFileRecord(record));
  FUZZ_CHECK(decoded_record.ok() && decoded_record.value() == record, "file record encode-decode");

  BlockMapping mapping;
  const uint32_t sectors_per_block = 1u << in.ConsumeIntegralInRange(0, 10);
  mapping.object_id = in.ConsumeIntegral<uint64_t>();
  mapping.block = in.ConsumeIntegral<uint64_t>();
  mapping.slot = in.ConsumeIntegral<uint64_t>();
  const size_t bitmap_bytes =
      in.ConsumeBool() ? (sectors_per_block + 7) / 8 : in.ConsumeIntegralInRange<size_t>(0, 200);
  mapping.valid_sectors = in.ConsumeBytes<uint8_t>(bitmap_bytes);
  const Result<BlockMapping> decoded_mapping =
      DecodeMapping(EncodeMappingKey(mapping.object_id, mapping.block), EncodeMappingValue(mapping),
                    sectors_per_block);
  FUZZ_CHECK(decoded_mapping.ok() == (mapping.valid_sectors.size() == (sectors_per_block + 7) / 8),
             "mapping acceptance after encoding");
  if (decoded_mapping.ok()) {
    FUZZ_CHECK(decoded_mapping.value() == mapping, "mapping encode-decode");
  } else {
    CheckFailure(decoded_mapping.status(), "encoded mapping");
  }

  DeviceNumberRecord device;
  device.dev = in.ConsumeIntegral<uint64_t>();
  device.number = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(1, kMaxDeviceNumber)
                                   : in.ConsumeIntegral<uint32_t>();
  const Result<DeviceNumberRecord> decoded_device =
      DecodeDeviceNumber(EncodeDeviceNumberKey(device.dev), EncodeDeviceNumberValue(device));
  FUZZ_CHECK(decoded_device.ok() == (device.number >= 1 && device.number <= kMaxDeviceNumber),
             "device number acceptance after encoding");
  if (decoded_device.ok()) {
    FUZZ_CHECK(decoded_device.value() == device, "device number encode-decode");
  } else {
    CheckFailure(decoded_device.status(), "encoded device number");
  }
}

}  // namespace
}  // namespace wtcachefs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wtcachefs;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (static_cast<MetaRecordKind>(data[0] % kMetaRecordKinds)) {
    case MetaRecordKind::kSuperblock:
      FuzzSuperblock(rest);
      break;
    case MetaRecordKind::kFileRecord:
      FuzzFileRecord(rest);
      break;
    case MetaRecordKind::kMapping:
      FuzzMapping(rest);
      break;
    case MetaRecordKind::kByteCodec:
      FuzzByteCodec(rest);
      break;
    case MetaRecordKind::kEncodeDecode:
      FuzzEncodeDecode(rest);
      break;
    case MetaRecordKind::kDeviceNumber:
      FuzzDeviceNumber(rest);
      break;
    case MetaRecordKind::kWriteLease:
      FuzzWriteLease(rest);
      break;
  }
  return 0;
}
