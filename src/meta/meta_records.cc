// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/meta_records.h"

#include <cerrno>

#include "meta/byte_codec.h"

namespace wtcachefs {
namespace {

constexpr uint32_t kMaxOriginPath = 4096;

Status Corrupt(const std::string& what) {
  return Status::Error(EUCLEAN, "corrupt metadata record: " + what);
}

}  // namespace

bool IsValidBlockSize(uint64_t block_size) {
  return block_size >= kMinBlockSize && block_size <= kMaxBlockSize &&
         (block_size & (block_size - 1)) == 0;
}

std::string EncodeSuperblock(const Superblock& sb) {
  ByteWriter w;
  w.U32(sb.format_version);
  w.Bytes(std::string_view(reinterpret_cast<const char*>(sb.cache_uuid.data()), 16));
  w.U32(sb.block_size);
  w.U64(sb.slot_count);
  w.U64(sb.origin_dev);
  w.U64(sb.origin_ino);
  w.U32(static_cast<uint32_t>(sb.origin_path.size()));
  w.Bytes(sb.origin_path);
  w.U8(sb.clean_shutdown ? 1 : 0);
  return w.Take();
}

Result<Superblock> DecodeSuperblock(std::string_view bytes) {
  ByteReader r(bytes);
  Superblock sb;
  uint32_t path_length = 0;
  uint8_t clean = 0;
  std::string_view uuid, path;
  if (!r.U32(sb.format_version)) return Corrupt("superblock too short");
  if (sb.format_version != kMetaFormatVersion) {
    return Status::Error(EPROTO, "metadata format version " +
                                     std::to_string(sb.format_version) +
                                     " is not supported (this wtcachefs writes version " +
                                     std::to_string(kMetaFormatVersion) + ")");
  }
  if (!r.Bytes(16, uuid) || !r.U32(sb.block_size) || !r.U64(sb.slot_count) ||
      !r.U64(sb.origin_dev) || !r.U64(sb.origin_ino) || !r.U32(path_length) ||
      path_length > kMaxOriginPath || !r.Bytes(path_length, path) || !r.U8(clean) ||
      !r.AtEnd() || clean > 1) {
    return Corrupt("superblock fields");
  }
  if (!IsValidBlockSize(sb.block_size)) return Corrupt("superblock block size");
  std::copy(uuid.begin(), uuid.end(), sb.cache_uuid.begin());
  sb.origin_path.assign(path);
  sb.clean_shutdown = clean == 1;
  return sb;
}

std::string EncodeFileRecord(const FileRecord& record) {
  ByteWriter w;
  w.U64(record.object_id);
  w.U64(record.fingerprint.dev);
  w.U64(record.fingerprint.ino);
  w.U64(record.fingerprint.size);
  w.U64(static_cast<uint64_t>(record.fingerprint.mtime_ns));
  w.U64(static_cast<uint64_t>(record.fingerprint.ctime_ns));
  return w.Take();
}

Result<FileRecord> DecodeFileRecord(std::string_view bytes) {
  ByteReader r(bytes);
  FileRecord record;
  uint64_t mtime = 0, ctime = 0;
  if (!r.U64(record.object_id) || !r.U64(record.fingerprint.dev) ||
      !r.U64(record.fingerprint.ino) || !r.U64(record.fingerprint.size) || !r.U64(mtime) ||
      !r.U64(ctime) || !r.AtEnd()) {
    return Corrupt("file record length");
  }
  record.fingerprint.mtime_ns = static_cast<int64_t>(mtime);
  record.fingerprint.ctime_ns = static_cast<int64_t>(ctime);
  return record;
}

std::string EncodeMappingKey(uint64_t object_id, uint64_t block) {
  ByteWriter w;
  w.U64(object_id);
  w.U64(block);
  return w.Take();
}

std::string EncodeMappingValue(const BlockMapping& mapping) {
  ByteWriter w;
  w.U64(mapping.slot);
  w.Bytes(std::string_view(reinterpret_cast<const char*>(mapping.valid_sectors.data()),
                           mapping.valid_sectors.size()));
  return w.Take();
}

Result<BlockMapping> DecodeMapping(std::string_view key, std::string_view value,
                                   uint32_t sectors_per_block) {
  BlockMapping mapping;
  ByteReader k(key);
  if (!k.U64(mapping.object_id) || !k.U64(mapping.block) || !k.AtEnd()) {
    return Corrupt("mapping key length");
  }
  ByteReader v(value);
  std::string_view bitmap;
  const size_t bitmap_bytes = (sectors_per_block + 7) / 8;
  if (!v.U64(mapping.slot) || !v.Bytes(bitmap_bytes, bitmap) || !v.AtEnd()) {
    return Corrupt("mapping value length");
  }
  mapping.valid_sectors.assign(bitmap.begin(), bitmap.end());
  return mapping;
}

std::string EncodeWriteLease(int64_t until_ns) {
  ByteWriter w;
  w.U8(kWriteLeaseRecordVersion);
  w.U64(static_cast<uint64_t>(until_ns));
  return w.Take();
}

Result<int64_t> DecodeWriteLease(std::string_view value) {
  ByteReader r(value);
  uint8_t version = 0;
  if (!r.U8(version)) return Corrupt("write lease length");
  if (version != kWriteLeaseRecordVersion) {
    return Status::Error(EPROTO, "write lease record version " + std::to_string(version) +
                                     " is not supported (this wtcachefs writes version " +
                                     std::to_string(kWriteLeaseRecordVersion) + ")");
  }
  uint64_t until = 0;
  if (!r.U64(until) || !r.AtEnd()) return Corrupt("write lease length");
  if (static_cast<int64_t>(until) < 0) return Corrupt("write lease time");
  return static_cast<int64_t>(until);
}

std::string EncodeDeviceNumberKey(uint64_t dev) {
  ByteWriter w;
  w.U64(dev);
  return w.Take();
}

std::string EncodeDeviceNumberValue(const DeviceNumberRecord& record) {
  ByteWriter w;
  w.U8(kDeviceNumberRecordVersion);
  w.U32(record.number);
  return w.Take();
}

Result<DeviceNumberRecord> DecodeDeviceNumber(std::string_view key, std::string_view value) {
  DeviceNumberRecord record;
  ByteReader k(key);
  if (!k.U64(record.dev) || !k.AtEnd()) return Corrupt("device number key length");
  ByteReader v(value);
  uint8_t version = 0;
  if (!v.U8(version)) return Corrupt("device number record length");
  if (version != kDeviceNumberRecordVersion) {
    return Status::Error(EPROTO, "device number record version " + std::to_string(version) +
                                     " is not supported (this wtcachefs writes version " +
                                     std::to_string(kDeviceNumberRecordVersion) + ")");
  }
  if (!v.U32(record.number) || !v.AtEnd()) return Corrupt("device number record length");
  if (record.number == 0 || record.number > kMaxDeviceNumber) return Corrupt("device number");
  return record;
}

}  // namespace wtcachefs
