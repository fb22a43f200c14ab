// SPDX-License-Identifier: Apache-2.0
// Sector checksums (DESIGN W6, last sentence: a cached block is served only
// after its checksum matches). Every valid 4 KiB sector of a cached block has a
// CRC32C (Intel ISA-L, hardware accelerated) kept in the checksum file beside
// the slot file: 4 bytes per sector, at the same position as the sector's slot.
// The CRC is seeded with the block's key and the sector's index in it, so a
// sector read from the wrong slot (a damaged or stale mapping) fails too.
//
// The checksum file is written through the IoBackend in the same submissions
// as the slot file's data and made durable by the same group commit, before the
// mappings that name it (W4). It costs no memory per cached block.
//
// Thread safety: ChecksumFile is immutable after Open(); its fd may be used from
// any thread. The functions are pure.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "wtcachefs/block_key.h"
#include "wtcachefs/cache_space.h"
#include "wtcachefs/meta_records.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

inline constexpr uint32_t kChecksumSize = sizeof(uint32_t);

// The CRC32C of sector `sector` of block `key`, over the kSectorSize bytes at
// `data` (a file's last sector is checksummed zero-padded, as it is in its slot).
uint32_t SectorChecksum(const BlockKey& key, uint32_t sector, const char* data);

// Checksums of `count` consecutive sectors starting at `first_sector`, whose
// bytes are at `data` (count * kSectorSize bytes), in the file's byte order.
std::vector<uint32_t> SectorChecksums(const BlockKey& key, uint32_t first_sector, uint32_t count,
                                      const char* data);

// The first sector among `count` at `data` (from `first_sector`) whose checksum
// differs from the stored one in `stored`; count when all match.
uint32_t FirstMismatch(const BlockKey& key, uint32_t first_sector, uint32_t count, const char* data,
                       const uint32_t* stored);

class ChecksumFile {
 public:
  // Opens or creates `path` (mode 0600) sized for slot_count slots of
  // sectors_per_block sectors, allocating the space up front when `space` is
  // kReserved.
  static Result<ChecksumFile> Open(const std::string& path, uint64_t slot_count,
                                   uint32_t sectors_per_block, CacheSpace space);
  // How many slots a checksum file of `file_size` bytes covers.
  static uint64_t SlotsCovered(uint64_t file_size, uint32_t sectors_per_block) {
    return file_size / (uint64_t{sectors_per_block} * kChecksumSize);
  }

  int fd() const { return fd_.get(); }
  // Where the checksum of `sector` of `slot` is.
  off_t OffsetOf(uint64_t slot, uint32_t sector) const {
    return static_cast<off_t>((slot * sectors_per_block_ + sector) * kChecksumSize);
  }
  // Cuts the file to slot_count slots if it is longer (a cache made smaller).
  Status TrimToSize();

 private:
  ChecksumFile(UniqueFd fd, uint64_t slot_count, uint32_t sectors_per_block)
      : fd_(std::move(fd)), slot_count_(slot_count), sectors_per_block_(sectors_per_block) {}

  UniqueFd fd_;
  uint64_t slot_count_;
  uint32_t sectors_per_block_;
};

}  // namespace wtcachefs
