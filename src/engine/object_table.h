// ObjectTable: the origin files the engine has seen, under stable object ids,
// with the fingerprint that ties cached blocks to one version of the file
// (DESIGN W6).
//
// Thread safety: all methods may be called concurrently. CachedObject fields
// state their guard.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "engine/block_range_lock.h"
#include "wtcachefs/meta_records.h"

namespace wtcachefs {

Fingerprint FingerprintOf(const struct stat& st);

struct CachedObject {
  explicit CachedObject(uint64_t object_id) : id(object_id) {}

  const uint64_t id;
  // Changes of this object's data: writes hold it shared, and their blocks in
  // write_ranges, so writes to different blocks run at once and writes sharing
  // a block reach origin and cache in the same order; truncate, fallocate, copy
  // into it and fsync's clearing of its intents hold it exclusively.
  // Lock order: change_mutex, write_ranges, fingerprint_mutex.
  std::shared_mutex change_mutex;
  BlockRangeLock write_ranges;
  // The origin file's size as last seen or changed through the view; reads are
  // clipped to it.
  std::atomic<uint64_t> size{0};
  std::mutex fingerprint_mutex;
  Fingerprint fingerprint;  // GUARDED_BY(fingerprint_mutex)
};

class ObjectTable {
 public:
  struct Opened {
    std::shared_ptr<CachedObject> object;
    // False when the origin file changed since the engine last saw it (or is
    // new): its cached blocks (and the kernel's page cache of it) must be dropped.
    bool unchanged;
    bool created;
    // The size in the previous fingerprint: no block past it can be cached.
    uint64_t previous_size;
  };

  // Finds or creates the object for an origin file freshly stat'ed as `st`.
  Opened Open(const struct stat& st);

  // Restores a record loaded from the metadata store (at mount).
  void Restore(const FileRecord& record);
  // Marks the object's record as needing a write (new object or new fingerprint).
  void MarkDirty(const std::shared_ptr<CachedObject>& object);
  // The records changed since the last call, with their current fingerprints.
  std::vector<FileRecord> TakeDirty();

 private:
  struct Key {
    uint64_t dev, ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.ino ^ (k.dev << 32)); }
  };

  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<CachedObject>, KeyHash> objects_;  // GUARDED_BY(mutex_)
  uint64_t next_id_ = 1;                                                     // GUARDED_BY(mutex_)
  std::unordered_map<uint64_t, std::shared_ptr<CachedObject>> dirty_;        // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
