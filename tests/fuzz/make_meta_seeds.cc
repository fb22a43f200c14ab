// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_meta_records: real records, encoded by the same
// functions the metadata store uses, in the fuzz target's input layout.
//
//   make_meta_seeds DIR     (DIR: tests/fuzz/corpus/fuzz_meta_records)
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "meta/byte_codec.h"
#include "meta_record_input.h"
#include "wtcachefs/meta_records.h"

namespace wtcachefs {
namespace {

bool Write(const std::string& dir, const std::string& name, MetaRecordKind kind,
           const std::string& record) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.put(static_cast<char>(kind));
  out << record;
  return static_cast<bool>(out);
}

Superblock SampleSuperblock(uint32_t block_size, const std::string& origin_path) {
  Superblock sb;
  for (size_t i = 0; i < sb.cache_uuid.size(); ++i)
    sb.cache_uuid[i] = static_cast<uint8_t>(0x5a ^ i);
  sb.cache_uuid[6] = 0x4c;
  sb.cache_uuid[8] = 0x9d;
  sb.block_size = block_size;
  sb.slot_count = (10ull << 30) / block_size;
  sb.origin_dev = 0x803;
  sb.origin_ino = 2;
  sb.origin_path = origin_path;
  sb.clean_shutdown = true;
  return sb;
}

// The ByteReader script that decodes an intent key (two U64) or a counter (one U64).
std::string Script(const std::vector<uint8_t>& ops, const std::string& bytes) {
  std::string rest(1, static_cast<char>(ops.size()));
  for (uint8_t op : ops) rest.push_back(static_cast<char>(op));
  return rest + bytes;
}

}  // namespace
}  // namespace wtcachefs

int main(int argc, char** argv) {
  using namespace wtcachefs;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_meta_seeds DIR\n");
    return 1;
  }
  const std::string dir = argv[1];
  bool ok = true;

  ok &= Write(dir, "superblock_64k", MetaRecordKind::kSuperblock,
              EncodeSuperblock(SampleSuperblock(64 << 10, "/srv/slow")));
  Superblock image = SampleSuperblock(4 << 20, "/dev/vg0/disk image");
  image.origin_dev = image.origin_ino = 0;
  image.clean_shutdown = false;
  ok &= Write(dir, "superblock_image_4m_unclean", MetaRecordKind::kSuperblock,
              EncodeSuperblock(image));
  ok &= Write(dir, "superblock_4k_long_path", MetaRecordKind::kSuperblock,
              EncodeSuperblock(SampleSuperblock(4096, "/" + std::string(300, 'p'))));

  FileRecord record;
  record.object_id = 17;
  record.fingerprint = {0x803, 1234567, 5 << 20, 1700000000123456789, 1700000000987654321};
  ok &= Write(dir, "file_record", MetaRecordKind::kFileRecord, EncodeFileRecord(record));
  record.fingerprint.mtime_ns = -1;  // before 1970
  ok &= Write(dir, "file_record_negative_mtime", MetaRecordKind::kFileRecord,
              EncodeFileRecord(record));

  for (uint8_t log2 : {0, 4, 10}) {  // 4 KiB, 64 KiB and 4 MiB blocks
    const uint32_t sectors = 1u << log2;
    BlockMapping mapping;
    mapping.object_id = 17;
    mapping.block = 12345;
    mapping.slot = 99;
    mapping.valid_sectors.assign((sectors + 7) / 8, 0xff);
    mapping.valid_sectors.front() = 0x0f;
    ok &= Write(dir, "mapping_" + std::to_string(4u << log2) + "k", MetaRecordKind::kMapping,
                JoinMappingInput(log2, EncodeMappingKey(mapping.object_id, mapping.block),
                                 EncodeMappingValue(mapping)));
  }

  ByteWriter intent;
  intent.U64(17);
  intent.U64(3);
  ok &= Write(dir, "intent_key", MetaRecordKind::kByteCodec, Script({2, 2}, intent.Take()));
  ByteWriter counter;
  counter.U64(123456789);
  ok &= Write(dir, "counter_value", MetaRecordKind::kByteCodec, Script({2}, counter.Take()));
  ok &= Write(dir, "superblock_script", MetaRecordKind::kByteCodec,
              Script({1, 16 << 2 | 3, 1, 2, 2, 2, 1, 9 << 2 | 3, 0},
                     EncodeSuperblock(SampleSuperblock(64 << 10, "/srv/slow"))));

  for (const DeviceNumberRecord& device :
       {DeviceNumberRecord{0x2d, 1}, DeviceNumberRecord{0xfd00000001ull, kMaxDeviceNumber}}) {
    ok &= Write(dir, "device_number_" + std::to_string(device.number),
                MetaRecordKind::kDeviceNumber,
                JoinDeviceNumberInput(EncodeDeviceNumberKey(device.dev),
                                      EncodeDeviceNumberValue(device)));
  }

  ok &= Write(dir, "write_lease", MetaRecordKind::kWriteLease,
              EncodeWriteLease(1'765'000'000'000'000'000));

  std::string fields;
  for (int i = 0; i < 160; ++i) fields.push_back(static_cast<char>(i * 37 + 11));
  ok &= Write(dir, "encode_decode", MetaRecordKind::kEncodeDecode, fields);

  if (!ok) {
    std::fprintf(stderr, "make_meta_seeds: cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
