// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/cache_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <random>

namespace wtcachefs {
namespace {

constexpr const char* kMetaDir = CacheDirectory::kMetaDirName;
constexpr const char* kSlotFile = CacheDirectory::kSlotFileName;
constexpr const char* kChecksumFile = CacheDirectory::kChecksumFileName;

// Removes the cache data: the slot file and the checksums of its sectors.
void RemoveCacheData(const std::string& dir) {
  ::unlink((dir + kSlotFile).c_str());
  ::unlink((dir + kChecksumFile).c_str());
}

std::array<uint8_t, 16> NewUuid() {
  std::random_device random;
  std::array<uint8_t, 16> uuid;
  for (uint8_t& byte : uuid) byte = static_cast<uint8_t>(random());
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // version 4
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);
  return uuid;
}

}  // namespace

CacheDirectory::~CacheDirectory() = default;

Result<std::unique_ptr<CacheDirectory>> CacheDirectory::Open(
    const CacheDirectoryRequest& request) {
  std::unique_ptr<CacheDirectory> cache(new CacheDirectory());
  cache->dir_ = request.cache_dir;
  ::chmod(request.cache_dir.c_str(), 0700);  // holds copies of other users' data
  // What the previous holder last recorded, read before taking the lock
  // records this mount as starting (a live holder keeps the lock anyway).
  const std::optional<CacheLockHolder> previous = ReadCacheLockHolder(request.cache_dir);
  cache->previous_mount_degraded_ = previous && previous->state == HolderState::kDegraded;
  auto lock = LockCacheDirectory(request.cache_dir, request.lock);
  if (!lock.ok()) return lock.status();
  cache->lock_fd_ = std::move(lock).value();
  cache->view_ = request.lock.view;

  const std::string meta_dir = request.cache_dir + kMetaDir;
  if (request.reset) {
    if (Status s = MetaStore::Destroy(meta_dir); !s.ok()) return s;
    RemoveCacheData(request.cache_dir);
  }
  std::unique_ptr<MetaStore> store;
  std::optional<Superblock> existing;
  Status problem;
  struct stat st;
  const bool orphaned_slots = ::stat(meta_dir.c_str(), &st) != 0 && errno == ENOENT &&
                              ::stat((request.cache_dir + kSlotFile).c_str(), &st) == 0;
  if (orphaned_slots) {
    // Cache data without the metadata that says what it holds: unusable.
    cache->warnings_.push_back("cache metadata in '" + meta_dir +
                               "' is missing: discarding the cache data beside it and "
                               "starting a new, empty cache");
    RemoveCacheData(request.cache_dir);
  }
  if (auto opened = MetaStore::Open(meta_dir); opened.ok()) {
    store = std::move(opened).value();
    auto loaded = store->LoadSuperblock();
    if (loaded.ok()) {
      existing = loaded.value();
    } else if (loaded.status().error() == EPROTO) {
      return Status::Error(EPROTO, "cache '" + request.cache_dir + "': " +
                                       loaded.status().message() +
                                       ": pass --reset-cache to start a new cache there");
    } else {
      problem = loaded.status();
      store.reset();
    }
  } else {
    problem = opened.status();
  }
  // The statistics of the store about to be discarded, carried over: a failing
  // cache device that damaged the store (and degraded the last mount) must not
  // also reset the counters of every earlier mount.
  std::map<std::string, uint64_t> salvaged_counters;
  if (!store && problem.error() == ENOSPC) {
    // A full file system damaged nothing: the cache is kept for a mount that
    // finds room (the view is served uncached meanwhile: cli/run.cc).
    return Status::Error(ENOSPC, "the cache metadata in '" + meta_dir +
                                     "' cannot be opened: its file system is full (" +
                                     problem.message() + ")");
  }
  if (!store) {
    salvaged_counters = MetaStore::SalvageCounters(meta_dir);
    cache->warnings_.push_back("cache metadata in '" + meta_dir + "' is unreadable (" +
                               problem.message() +
                               "): discarding it and starting a new, empty cache" +
                               (salvaged_counters.empty() ? ""
                                                          : " (its statistics are kept)"));
    if (Status s = MetaStore::Destroy(meta_dir); !s.ok()) return s;
    RemoveCacheData(request.cache_dir);
    auto reopened = MetaStore::Open(meta_dir);
    if (!reopened.ok()) return reopened.status();
    store = std::move(reopened).value();
  }
  cache->store_ = std::move(store);

  if (existing && request.block_size && *request.block_size != existing->block_size) {
    return Status::Error(EINVAL, "cache '" + request.cache_dir + "' was created with block size " +
                                     std::to_string(existing->block_size) + ", not " +
                                     std::to_string(*request.block_size) +
                                     ": drop --block-size, or pass --reset-cache to "
                                     "recreate the cache (its cached data is then lost)");
  }
  // The size in the cache's own blocks.
  const uint32_t block_size =
      existing ? existing->block_size : request.block_size.value_or(kDefaultBlockSize);
  const uint64_t slot_count = request.cache_bytes / block_size;
  if (!existing || request.resize) {
    if (slot_count == 0) {
      return Status::Error(EINVAL, "cache size " + std::to_string(request.cache_bytes) +
                                       " is smaller than one block of " +
                                       std::to_string(block_size) + " bytes");
    }
    if (slot_count > request.max_slots) {
      return Status::Error(
          EINVAL, "cache size " + std::to_string(request.cache_bytes) + " is " +
                      std::to_string(slot_count) + " blocks of " + std::to_string(block_size) +
                      " bytes; a cache holds at most " + std::to_string(request.max_slots) +
                      " blocks: choose a smaller --cache-size" +
                      (existing ? "" : " or a larger --block-size"));
    }
  }
  if (existing) {
    const Superblock& sb = *existing;
    const bool named_by_path = request.origin_dev == 0 && request.origin_ino == 0;
    if (sb.origin_dev != request.origin_dev || sb.origin_ino != request.origin_ino ||
        (named_by_path && sb.origin_path != request.origin_path)) {
      return Status::Error(EEXIST, "cache '" + request.cache_dir + "' belongs to origin '" +
                                       sb.origin_path + "', not '" + request.origin_path +
                                       "': pass --reset-cache to discard it and cache '" +
                                       request.origin_path + "' there");
    }

    cache->superblock_ = sb;
    cache->unclean_ = !sb.clean_shutdown;
    cache->previous_slot_count_ = sb.slot_count;
    if (request.resize && slot_count != sb.slot_count) {
      cache->warnings_.push_back(
          "cache '" + request.cache_dir + "' resized from " + std::to_string(sb.slot_count) +
          " to " + std::to_string(slot_count) + " blocks" +
          (slot_count < sb.slot_count ? " (blocks past the new size are dropped)" : ""));
      cache->superblock_.slot_count = slot_count;
    }
  } else {
    cache->created_ = true;
    Superblock& sb = cache->superblock_;
    sb.cache_uuid = NewUuid();
    sb.block_size = block_size;
    sb.slot_count = slot_count;
    sb.origin_dev = request.origin_dev;
    sb.origin_ino = request.origin_ino;
    sb.origin_path = request.origin_path;
  }
  cache->salvaged_counters_ = std::move(salvaged_counters);
  return cache;
}

Status CacheDirectory::RecordMount() {
  // Until MarkClean(), a crash must be seen as one.
  superblock_.clean_shutdown = false;
  MetaBatch batch;
  batch.PutSuperblock(superblock_);
  for (const auto& [name, value] : salvaged_counters_) batch.PutCounter(name, value);
  if (Status s = store_->Commit(batch, /*sync=*/true); !s.ok()) return s;
  salvaged_counters_.clear();
  return Status::Ok();
}

Status CacheDirectory::MarkClean() {
  Superblock sb = superblock_;
  sb.clean_shutdown = true;
  MetaBatch batch;
  batch.PutSuperblock(sb);
  return store_->Commit(batch, /*sync=*/true);
}

}  // namespace wtcachefs
