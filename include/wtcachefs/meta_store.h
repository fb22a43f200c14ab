// SPDX-License-Identifier: Apache-2.0
// MetaStore: the cache's persistent metadata (superblock, file records, block
// mapping, intent log, counters, the view's device numbers) in a RocksDB
// database inside CACHE. RocksDB stays behind this interface; nothing else
// includes it.
//
// Durability: Commit(batch, /*sync=*/true) returns only once the batch is on
// stable storage (WAL fsync); a batch is applied atomically or not at all.
//
// Thread safety: all methods may be called concurrently; commits run one at a
// time. MetaBatch is a single-owner value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wtcachefs/meta_records.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

class MetaBatch {
 public:
  void PutSuperblock(const Superblock& sb);
  void PutFile(const FileRecord& record);
  void DeleteFile(uint64_t object_id);
  // The index of file records by origin (st_dev, st_ino): which object id a
  // file has (MetaStore::FindFileId).
  void PutFileId(uint64_t dev, uint64_t ino, uint64_t object_id);
  void DeleteFileId(uint64_t dev, uint64_t ino);
  // A file handle (name_to_handle_at) of the file a record is of, for the
  // sweep that finds files gone behind the mount (engine/record_sweep.h).
  void PutFileHandle(uint64_t object_id, std::string_view handle);
  void DeleteFileHandle(uint64_t object_id);
  // Object ids that may be given again: no record and no mapping has them.
  void PutFreeId(uint64_t object_id);
  void DeleteFreeId(uint64_t object_id);
  // Every object id below `next` has been given (a free id may be given again).
  void PutNextObjectId(uint64_t next);
  void PutMapping(const BlockMapping& mapping);
  void DeleteMapping(uint64_t object_id, uint64_t block);
  // Intent log: a region of an object with writes possibly in flight.
  void PutIntent(uint64_t object_id, uint64_t region);
  void DeleteIntent(uint64_t object_id, uint64_t region);
  void PutCounter(std::string_view name, uint64_t value);
  // The view's number of origin file system `record.dev` (DeviceNumberStore).
  void PutDeviceNumber(const DeviceNumberRecord& record);
  // The write lease (EncodeWriteLease): one record, replaced.
  void PutWriteLease(int64_t until_ns);

  bool empty() const { return changes_.empty(); }
  size_t size() const { return changes_.size(); }

 private:
  friend class MetaStore;
  struct Change {
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  std::vector<Change> changes_;
};

class MetaStore {
 public:
  // Opens (creating when missing) the store in `dir`. A damaged store fails with
  // EUCLEAN and a message; the caller may Destroy() and recreate it.
  static Result<std::unique_ptr<MetaStore>> Open(const std::string& dir);
  // Deletes the store in `dir` (all metadata is lost; the cache becomes cold).
  static Status Destroy(const std::string& dir);
  // The counters a store that Open() refuses still holds, read without trusting
  // anything else in it (statistics only: nothing a read is served by). Best
  // effort: empty when RocksDB itself cannot open the store; counters whose
  // record does not decode are left out. Changes nothing in `dir`.
  static std::map<std::string, uint64_t> SalvageCounters(const std::string& dir);

  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  Status Commit(const MetaBatch& batch, bool sync);
  // After a Commit() that failed (a full file system): lets the store take
  // writes again once the cause is gone. Ok when it can.
  Status Resume();

  // nullopt when the store is new.
  Result<std::optional<Superblock>> LoadSuperblock();
  // Visit records in key order; stop at and return the first decode error.
  Status ForEachFile(const std::function<void(FileRecord&&)>& visit);
  // Visits at most `limit` file records with ids at or above `from`, in id
  // order; returns the id to continue from (0: none left).
  Result<uint64_t> ForSomeFiles(uint64_t from, size_t limit,
                                const std::function<void(FileRecord&&)>& visit);
  // The record of `object_id`; nullopt when there is none.
  Result<std::optional<FileRecord>> LoadFile(uint64_t object_id);
  // PutFileHandle's bytes; nullopt when none was put.
  Result<std::optional<std::string>> LoadFileHandle(uint64_t object_id);
  // The object id the index gives origin file (dev, ino); nullopt when none.
  Result<std::optional<uint64_t>> FindFileId(uint64_t dev, uint64_t ino);
  // Up to `limit` free object ids at or above `from`, ascending.
  Result<std::vector<uint64_t>> LoadFreeIds(uint64_t from, size_t limit);
  // PutNextObjectId's value; nullopt when none was committed (a store written
  // before ids were reused, or a new one).
  Result<std::optional<uint64_t>> LoadNextObjectId();
  // The highest object id with a record, 0 when there is none.
  Result<uint64_t> LastFileId();
  Status ForEachMapping(uint32_t sectors_per_block,
                        const std::function<void(BlockMapping&&)>& visit);
  Status ForEachIntent(const std::function<void(uint64_t object_id, uint64_t region)>& visit);
  Result<std::map<std::string, uint64_t>> LoadCounters();
  Status ForEachDeviceNumber(const std::function<void(DeviceNumberRecord&&)>& visit);
  // The write lease last committed; nullopt when none was.
  Result<std::optional<int64_t>> LoadWriteLease();

 private:
  struct Impl;
  explicit MetaStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wtcachefs
