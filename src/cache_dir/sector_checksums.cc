// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/sector_checksums.h"

#include "cache_dir/preallocated_file.h"

#include <endian.h>
#include <isa-l/crc.h>

#include <cstring>

namespace wtcachefs {
namespace {

// CRC32C of the block's identity: object id and block (little-endian).
uint32_t BlockSeed(const BlockKey& key) {
  unsigned char identity[16];
  const uint64_t object_id = htole64(key.object_id);
  const uint64_t block = htole64(key.block);
  std::memcpy(identity, &object_id, 8);
  std::memcpy(identity + 8, &block, 8);
  return crc32_iscsi(identity, sizeof(identity), 0xFFFFFFFFu);
}

// The sector's CRC starts from the block's seed mixed with the sector index (an
// odd multiplier: distinct sectors start from distinct values).
uint32_t Checksum(uint32_t block_seed, uint32_t sector, const char* data) {
  const uint32_t crc =
      crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(data)),
                  static_cast<int>(kSectorSize), block_seed ^ (sector * 0x9E3779B1u));
  return htole32(~crc);
}

}  // namespace

uint32_t SectorChecksum(const BlockKey& key, uint32_t sector, const char* data) {
  return Checksum(BlockSeed(key), sector, data);
}

std::vector<uint32_t> SectorChecksums(const BlockKey& key, uint32_t first_sector, uint32_t count,
                                      const char* data) {
  const uint32_t seed = BlockSeed(key);
  std::vector<uint32_t> sums(count);
  for (uint32_t i = 0; i < count; ++i) {
    sums[i] = Checksum(seed, first_sector + i, data + size_t{i} * kSectorSize);
  }
  return sums;
}

uint32_t FirstMismatch(const BlockKey& key, uint32_t first_sector, uint32_t count, const char* data,
                       const uint32_t* stored) {
  const uint32_t seed = BlockSeed(key);
  for (uint32_t i = 0; i < count; ++i) {
    if (Checksum(seed, first_sector + i, data + size_t{i} * kSectorSize) != stored[i]) return i;
  }
  return count;
}

Result<ChecksumFile> ChecksumFile::Open(const std::string& path, uint64_t slot_count,
                                        uint32_t sectors_per_block, CacheSpace space) {
  auto fd = OpenPreallocated(path, static_cast<off_t>(slot_count * sectors_per_block * kChecksumSize),
                             "the cache checksum file", space);
  if (!fd.ok()) return fd.status();
  return ChecksumFile(std::move(fd).value(), slot_count, sectors_per_block);
}

Status ChecksumFile::TrimToSize() {
  return TrimTo(fd_.get(), static_cast<off_t>(slot_count_ * sectors_per_block_ * kChecksumSize),
                "the cache checksum file");
}

}  // namespace wtcachefs
