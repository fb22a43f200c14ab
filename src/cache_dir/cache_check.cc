// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/cache_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "cache_dir/cache_directory.h"
#include "cache_dir/sector_checksums.h"
#include "cache_dir/slot_file.h"
#include "wtcachefs/meta_records.h"
#include "wtcachefs/meta_store.h"
#include "wtcachefs/sector_set.h"

namespace wtcachefs {
namespace {

std::string Count(uint64_t n, const std::string& what) {
  return std::to_string(n) + " " + what;
}

// Reads mapping `m`'s block from the slot file and its checksums; returns the
// valid sectors whose data fails its checksum (all of them if unreadable).
std::vector<uint32_t> FailingSectors(int slot_fd, int checksum_fd, uint32_t block_size,
                                     const BlockMapping& m) {
  const uint32_t sectors = block_size / kSectorSize;
  const SectorSet valid = SectorSet::FromBytes(m.valid_sectors, sectors);
  std::vector<char> data(block_size);
  std::vector<uint32_t> stored(sectors);
  const off_t checksums_at = static_cast<off_t>(m.slot * sectors * kChecksumSize);
  const bool read =
      ::pread(slot_fd, data.data(), data.size(), static_cast<off_t>(m.slot * block_size)) ==
          static_cast<ssize_t>(data.size()) &&
      ::pread(checksum_fd, stored.data(), sectors * kChecksumSize, checksums_at) ==
          static_cast<ssize_t>(sectors * kChecksumSize);
  std::vector<uint32_t> failing;
  for (uint32_t sector = 0; sector < sectors; ++sector) {
    if (!valid.Test(sector)) continue;
    if (!read || SectorChecksum({m.object_id, m.block}, sector,
                                data.data() + size_t{sector} * kSectorSize) != stored[sector]) {
      failing.push_back(sector);
    }
  }
  return failing;
}

std::string SectorList(const std::vector<uint32_t>& sectors) {
  std::string list;
  for (size_t i = 0; i < sectors.size() && i < 8; ++i) {
    list += (i == 0 ? "" : ",") + std::to_string(sectors[i]);
  }
  if (sectors.size() > 8) list += ",...";
  return list;
}

}  // namespace

Result<CacheCheckReport> CheckCache(const std::string& cache_dir, bool repair,
                                    bool verify_data, const CacheLockRequest& lock_request) {
  CacheCheckReport report;
  const std::string meta_dir = cache_dir + CacheDirectory::kMetaDirName;
  const std::string slot_file = cache_dir + CacheDirectory::kSlotFileName;
  const std::string checksum_file = cache_dir + CacheDirectory::kChecksumFileName;
  struct stat st;
  if (::stat(meta_dir.c_str(), &st) != 0) {
    return Status::Error(ENOENT, "'" + cache_dir + "' holds no wtcachefs cache (no metadata "
                                 "store): give the CACHE directory of a wtcachefs mount");
  }
  auto lock = LockCacheDirectory(cache_dir, lock_request);
  if (!lock.ok()) return lock.status();

  // A store that cannot be read is reset: a writethrough cache holds no data of
  // its own.
  const auto unreadable = [&](const std::string& problem) -> Result<CacheCheckReport> {
    report.problems.push_back(problem);
    if (repair) {
      if (Status s = MetaStore::Destroy(meta_dir); !s.ok()) return s;
      ::unlink(slot_file.c_str());
      ::unlink(checksum_file.c_str());
      report.repairs.push_back("reset the cache: the next mount starts an empty one");
    }
    return report;
  };
  auto opened = MetaStore::Open(meta_dir);
  if (!opened.ok()) return unreadable("the metadata store cannot be opened: " +
                                      opened.status().message());
  MetaStore& store = *opened.value();
  auto superblock = store.LoadSuperblock();
  if (!superblock.ok()) {
    opened.value().reset();
    return unreadable("the superblock cannot be read: " + superblock.status().message());
  }
  if (!superblock.value()) {
    return Status::Error(ENOENT, "'" + cache_dir + "' holds no wtcachefs cache (no "
                                 "superblock): give the CACHE directory of a wtcachefs mount");
  }
  const Superblock& sb = *superblock.value();
  report.block_size = sb.block_size;
  report.slot_count = sb.slot_count;
  report.origin_path = sb.origin_path;
  report.clean_shutdown = sb.clean_shutdown;

  std::unordered_map<uint64_t, uint64_t> objects;  // object id -> origin inode
  Status files = store.ForEachFile([&](FileRecord&& record) {
    objects.emplace(record.object_id, record.fingerprint.ino);
    ++report.files;
  });
  Status intents = store.ForEachIntent([&](uint64_t, uint64_t) { ++report.intents; });
  // Slots the slot file holds: mappings past them point at lost data.
  const uint64_t intact_slots =
      ::stat(slot_file.c_str(), &st) == 0
          ? std::min<uint64_t>(sb.slot_count, static_cast<uint64_t>(st.st_size) / sb.block_size)
          : 0;
  const bool slot_file_missing = ::access(slot_file.c_str(), F_OK) != 0;
  // Slots whose checksums the checksum file holds.
  const uint32_t sectors_per_block = sb.block_size / kSectorSize;
  const uint64_t checksummed_slots =
      ::stat(checksum_file.c_str(), &st) == 0
          ? std::min<uint64_t>(sb.slot_count,
                               ChecksumFile::SlotsCovered(static_cast<uint64_t>(st.st_size),
                                                          sectors_per_block))
          : 0;
  UniqueFd slot_fd, checksum_fd;
  if (verify_data) {
    slot_fd = UniqueFd(::open(slot_file.c_str(), O_RDONLY | O_CLOEXEC));
    checksum_fd = UniqueFd(::open(checksum_file.c_str(), O_RDONLY | O_CLOEXEC));
  }
  std::unordered_set<uint64_t> used_slots;
  std::vector<BlockMapping> bad;
  uint64_t out_of_range = 0, twice = 0, unknown_file = 0, empty = 0, unchecksummed = 0;
  uint64_t corrupt = 0;
  Status mappings = store.ForEachMapping(sb.block_size / kSectorSize, [&](BlockMapping&& m) {
    ++report.mappings;
    bool ok = true;
    if (m.slot >= intact_slots) {
      ++out_of_range;
      ok = false;
    } else if (!used_slots.insert(m.slot).second) {
      ++twice;
      ok = false;
    }
    if (ok && m.slot >= checksummed_slots) {
      ++unchecksummed;
      ok = false;
    }
    const auto object = objects.find(m.object_id);
    if (object == objects.end()) {
      ++unknown_file;
      ok = false;
    }
    bool any_valid = false;
    for (uint8_t byte : m.valid_sectors) any_valid = any_valid || byte != 0;
    if (!any_valid) {
      ++empty;
      ok = false;
    }
    if (ok && verify_data) {
      ++report.verified_blocks;
      const std::vector<uint32_t> failing =
          FailingSectors(slot_fd.get(), checksum_fd.get(), sb.block_size, m);
      if (!failing.empty()) {
        ++corrupt;
        ok = false;
        report.corrupt_blocks.push_back(
            "object " + std::to_string(m.object_id) + " (origin inode " +
            std::to_string(object->second) + ") block " + std::to_string(m.block) + " in slot " +
            std::to_string(m.slot) + ": " + Count(failing.size(), "sectors") + " (" +
            SectorList(failing) + ") fail their checksum");
      }
    }
    if (!ok) bad.push_back(std::move(m));
  });
  for (const Status& s : {files, intents, mappings}) {
    if (!s.ok()) {
      opened.value().reset();
      return unreadable("a record cannot be decoded: " + s.message());
    }
  }
  if (slot_file_missing) {
    report.problems.push_back("the slot file '" + slot_file + "' is missing");
  } else if (intact_slots < sb.slot_count) {
    report.problems.push_back("the slot file holds " + Count(intact_slots, "slots") + " of " +
                              std::to_string(sb.slot_count));
  }
  if (out_of_range) {
    report.problems.push_back(Count(out_of_range, "mappings point past the slot file"));
  }
  if (twice) report.problems.push_back(Count(twice, "mappings use a slot another mapping uses"));
  if (unknown_file) {
    report.problems.push_back(Count(unknown_file, "mappings belong to no known file"));
  }
  if (empty) report.problems.push_back(Count(empty, "mappings have no valid sector"));
  if (unchecksummed) {
    report.problems.push_back(Count(unchecksummed, "mappings have no checksums") +
                              " (the checksum file '" + checksum_file + "' is " +
                              (checksummed_slots == 0 ? "missing" : "short") + ")");
  }
  if (corrupt) {
    report.problems.push_back(Count(corrupt, "mapped blocks fail their checksum"));
  }
  if (repair && !bad.empty()) {
    MetaBatch batch;
    for (const BlockMapping& m : bad) batch.DeleteMapping(m.object_id, m.block);
    if (Status s = store.Commit(batch, /*sync=*/true); !s.ok()) return s;
    report.repairs.push_back("deleted " + Count(bad.size(), "bad mappings"));
  }
  if (repair && checksummed_slots < sb.slot_count) {
    // Only after the mappings it did not cover are gone.
    auto extended = ChecksumFile::Open(checksum_file, sb.slot_count, sectors_per_block,
                                       CacheSpace::kElastic);
    if (!extended.ok()) return extended.status();
    report.repairs.push_back("extended the checksum file to " + Count(sb.slot_count, "slots"));
  }
  if (repair && intact_slots < sb.slot_count) {
    // Only after the mappings into the lost part are gone.
    auto extended = SlotFile::Open(slot_file, sb.slot_count, sb.block_size, CacheSpace::kElastic);
    if (!extended.ok()) return extended.status();
    report.repairs.push_back(std::string(slot_file_missing ? "recreated" : "extended") +
                             " the slot file to " + Count(sb.slot_count, "slots"));
  }
  return report;
}

}  // namespace wtcachefs
