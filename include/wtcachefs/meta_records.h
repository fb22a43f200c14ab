// SPDX-License-Identifier: Apache-2.0
// The records wtcachefs keeps in its metadata store (DESIGN §3), as plain values,
// and their encoding. Decoding checks every length and range: a record read back
// from a damaged store yields an error Status, never undefined behaviour.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wtcachefs/status.h"

namespace wtcachefs {

inline constexpr uint32_t kMetaFormatVersion = 1;
inline constexpr uint32_t kSectorSize = 4096;
inline constexpr uint32_t kMinBlockSize = 4096;
inline constexpr uint32_t kMaxBlockSize = 4u << 20;

// True for a power of two between 4 KiB and 4 MiB.
bool IsValidBlockSize(uint64_t block_size);

// What a cache directory belongs to and how it is laid out.
struct Superblock {
  uint32_t format_version = kMetaFormatVersion;
  std::array<uint8_t, 16> cache_uuid{};
  uint32_t block_size = 64 * 1024;
  uint64_t slot_count = 0;
  // The origin this cache was created for: (st_dev, st_ino) of its root and the
  // canonical path it was mounted from; for an image origin (0, 0) and its path,
  // which alone identifies it.
  uint64_t origin_dev = 0;
  uint64_t origin_ino = 0;
  std::string origin_path;
  bool clean_shutdown = false;

  bool operator==(const Superblock&) const = default;
};

// Identity and version of an origin file, from a fresh fstat (DESIGN W6).
struct Fingerprint {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool operator==(const Fingerprint&) const = default;
};

// An origin file known to the cache, under a stable object id.
struct FileRecord {
  uint64_t object_id = 0;
  Fingerprint fingerprint;

  bool operator==(const FileRecord&) const = default;
};

// Where block `block` of object `object_id` lives in the slot file, and which of
// its 4 KiB sectors hold valid data (bit i = sector i).
struct BlockMapping {
  uint64_t object_id = 0;
  uint64_t block = 0;
  uint64_t slot = 0;
  std::vector<uint8_t> valid_sectors;  // ceil(sectors_per_block / 8) bytes

  bool operator==(const BlockMapping&) const = default;
};

// The number the view gave an origin file system other than ORIGIN root's own
// (by its st_dev), for the view's inode numbers (src/fuse/view_inode_numbers.h).
inline constexpr uint32_t kMaxDeviceNumber = (1u << 15) - 1;
// The encoding of a DeviceNumberRecord's value; a newer one is refused (EPROTO).
inline constexpr uint8_t kDeviceNumberRecordVersion = 1;
struct DeviceNumberRecord {
  uint64_t dev = 0;
  uint32_t number = 0;  // 1 to kMaxDeviceNumber

  bool operator==(const DeviceNumberRecord&) const = default;
};

std::string EncodeSuperblock(const Superblock& sb);
Result<Superblock> DecodeSuperblock(std::string_view bytes);

std::string EncodeFileRecord(const FileRecord& record);
Result<FileRecord> DecodeFileRecord(std::string_view bytes);

// Key and value of a mapping; the key orders mappings by (object, block).
std::string EncodeMappingKey(uint64_t object_id, uint64_t block);
std::string EncodeMappingValue(const BlockMapping& mapping);
// `sectors_per_block` bounds the bitmap: a value with another length is corrupt.
Result<BlockMapping> DecodeMapping(std::string_view key, std::string_view value,
                                   uint32_t sectors_per_block);

// Key (the device) and value (version, number) of a device number record.
// The write lease (DESIGN W4, docs/architecture.md "Warm after a crash"): until
// when, in origin's wall-clock nanoseconds, the daemon that last wrote it may
// have changed origin files. A newer encoding is refused (EPROTO).
inline constexpr uint8_t kWriteLeaseRecordVersion = 1;
std::string EncodeWriteLease(int64_t until_ns);
// A lease before 1970 is corrupt.
Result<int64_t> DecodeWriteLease(std::string_view value);

std::string EncodeDeviceNumberKey(uint64_t dev);
std::string EncodeDeviceNumberValue(const DeviceNumberRecord& record);
// A number outside 1..kMaxDeviceNumber is corrupt.
Result<DeviceNumberRecord> DecodeDeviceNumber(std::string_view key, std::string_view value);

}  // namespace wtcachefs
