// SPDX-License-Identifier: Apache-2.0
// CacheDirectory: takes ownership of a CACHE directory for one mount (DESIGN §1,
// issue "ownership"): an exclusive lock (cache_dir/cache_lock.h: a second mount
// fails clearly), the metadata store, and the superblock that records the
// origin and block size the cache was created for.
//
//  - A new directory gets a superblock from the request.
//  - An existing cache for another origin is refused, naming --reset-cache.
//  - A block size different from the one the cache was created with is refused
//    (when one was asked for explicitly), naming --reset-cache.
//  - A damaged metadata store is discarded with a warning and recreated: a
//    writethrough cache holds no data of its own, so this loses only warmth.
//    The counters it still holds (the statistics) are carried over.
//
// Thread safety: single owner; Open() at mount, destruction at unmount.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache_dir/cache_lock.h"
#include "wtcachefs/meta_store.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct CacheDirectoryRequest {
  std::string cache_dir;
  // Identity of ORIGIN: as in CacheConfig (a directory's root (st_dev, st_ino)
  // and canonical path; an image's path alone, with dev and ino 0).
  uint64_t origin_dev = 0;
  uint64_t origin_ino = 0;
  std::string origin_path;
  // The block size asked for, if any (default 64 KiB for a new cache). An
  // existing cache of another block size is refused (EINVAL), never changed.
  std::optional<uint32_t> block_size;
  // The cache's size in bytes, counted in the cache's own blocks (its block
  // size when it exists): at most max_slots blocks, and at least one.
  uint64_t cache_bytes = 0;
  uint64_t max_slots = 0;
  // An existing cache takes cache_bytes too (the size was asked for, not a
  // default): smaller drops the mappings past it, larger grows the slot file.
  bool resize = false;
  // Discard whatever the directory holds and start a new cache.
  bool reset = false;
  // The view this mount serves, and how a previous mount still shutting down is
  // waited for (cache_dir/cache_lock.h).
  CacheLockRequest lock;
};

class CacheDirectory {
 public:
  static constexpr uint32_t kDefaultBlockSize = 64 * 1024;

  static Result<std::unique_ptr<CacheDirectory>> Open(const CacheDirectoryRequest& request);
  ~CacheDirectory();

  MetaStore& store() { return *store_; }
  const Superblock& superblock() const { return superblock_; }
  // True when the directory held no cache and a new one was made.
  bool created() const { return created_; }
  // The slots the cache had before this mount (before a resize; 0 when new).
  uint64_t previous_slot_count() const { return previous_slot_count_; }
  // True when the previous mount did not shut down cleanly (recovery needed).
  bool recovered_from_unclean_shutdown() const { return unclean_; }
  // Warnings for the log (a discarded store, a cache made new).
  const std::vector<std::string>& warnings() const { return warnings_; }
  void AddWarning(std::string warning) { warnings_.push_back(std::move(warning)); }
  std::string slot_file_path() const { return dir_ + kSlotFileName; }
  // The sector checksums of the slot file's data (cache_dir/sector_checksums.h).
  std::string checksum_file_path() const { return dir_ + kChecksumFileName; }
  static constexpr char kSlotFileName[] = "/slots";
  static constexpr char kChecksumFileName[] = "/checksums";
  static constexpr char kMetaDirName[] = "/meta";

  // Records the superblock (a new cache's, or a resized one) as in use: until
  // MarkClean, a crash is seen as one. Open records nothing, so a mount that
  // fails before this call leaves the directory as it found it (a new cache's
  // store then holds no superblock, and the next mount starts it afresh).
  Status RecordMount();
  // Records a clean shutdown (call after every other change is committed).
  Status MarkClean();
  // Tells others who find the cache locked whether this mount is starting,
  // serving its view (degraded or not), or leaving (cache_dir/cache_lock.h).
  void RecordHolderState(HolderState state) {
    wtcachefs::RecordHolderState(lock_fd_.get(), view_, state);
  }
  // The previous mount's last record said it was degraded: its writes since
  // may have marked no intent.
  bool previous_mount_degraded() const { return previous_mount_degraded_; }

 private:
  CacheDirectory() = default;

  std::string dir_;
  UniqueFd lock_fd_;
  std::string view_;  // the view this mount serves, as the lock file names it
  std::unique_ptr<MetaStore> store_;
  Superblock superblock_;
  bool unclean_ = false;
  bool created_ = false;
  uint64_t previous_slot_count_ = 0;
  bool previous_mount_degraded_ = false;
  std::vector<std::string> warnings_;
  // The counters of a discarded store, recorded with the superblock.
  std::map<std::string, uint64_t> salvaged_counters_;
};

}  // namespace wtcachefs
