// SPDX-License-Identifier: Apache-2.0
// MetaStore on RocksDB. Keys start with a one-byte record type; integers are
// big-endian so that each type's keys sort numerically.
#include "wtcachefs/meta_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/metadata.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>

#include "meta/byte_codec.h"
#include "meta/commit_guard.h"
#include "meta/private_env.h"

namespace wtcachefs {
namespace {

constexpr char kSuperblockKey[] = "S";
constexpr char kWriteLeaseKey[] = "L";
constexpr char kFilePrefix = 'F';
constexpr char kMappingPrefix = 'M';
constexpr char kIntentPrefix = 'I';
constexpr char kCounterPrefix = 'C';
constexpr char kDevicePrefix = 'D';
constexpr char kFileIdPrefix = 'O';  // (dev, ino) -> object id
constexpr char kFreeIdPrefix = 'X';
constexpr char kFileHandlePrefix = 'H';
constexpr char kNextObjectIdKey[] = "N";
constexpr char kCommitKey[] = "G";  // the number of the last commit

// The guard of the store in `dir`: beside it, not inside RocksDB's directory.
std::string GuardPath(const std::string& dir) { return dir + ".commit"; }

std::string PrefixedKey(char prefix, std::string_view rest) {
  std::string key(1, prefix);
  key.append(rest);
  return key;
}

std::string ObjectKey(char prefix, uint64_t object_id) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(prefix));
  w.U64(object_id);
  return w.Take();
}

std::string FileIdKey(uint64_t dev, uint64_t ino) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(kFileIdPrefix));
  w.U64(dev);
  w.U64(ino);
  return w.Take();
}

std::string EncodeU64(uint64_t value) {
  ByteWriter w;
  w.U64(value);
  return w.Take();
}

Result<uint64_t> DecodeU64(std::string_view bytes, const char* what) {
  ByteReader r(bytes);
  uint64_t value = 0;
  if (!r.U64(value) || !r.AtEnd()) {
    return Status::Error(EUCLEAN, std::string("corrupt metadata record: ") + what + " length");
  }
  return value;
}

std::string IntentKey(uint64_t object_id, uint64_t region) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(kIntentPrefix));
  w.U64(object_id);
  w.U64(region);
  return w.Take();
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  const int error = s.IsCorruption() ? EUCLEAN
                    : s.IsNoSpace()  ? ENOSPC
                    : s.IsIOError()  ? EIO
                                     : EINVAL;
  return Status::Error(error, what + ": " + s.ToString());
}

}  // namespace

void MetaBatch::PutSuperblock(const Superblock& sb) {
  changes_.push_back({kSuperblockKey, EncodeSuperblock(sb)});
}
void MetaBatch::PutFile(const FileRecord& record) {
  changes_.push_back({ObjectKey(kFilePrefix, record.object_id), EncodeFileRecord(record)});
}
void MetaBatch::DeleteFile(uint64_t object_id) {
  changes_.push_back({ObjectKey(kFilePrefix, object_id), std::nullopt});
}
void MetaBatch::PutFileId(uint64_t dev, uint64_t ino, uint64_t object_id) {
  changes_.push_back({FileIdKey(dev, ino), EncodeU64(object_id)});
}
void MetaBatch::DeleteFileId(uint64_t dev, uint64_t ino) {
  changes_.push_back({FileIdKey(dev, ino), std::nullopt});
}
void MetaBatch::PutFileHandle(uint64_t object_id, std::string_view handle) {
  changes_.push_back({ObjectKey(kFileHandlePrefix, object_id), std::string(handle)});
}
void MetaBatch::DeleteFileHandle(uint64_t object_id) {
  changes_.push_back({ObjectKey(kFileHandlePrefix, object_id), std::nullopt});
}
void MetaBatch::PutFreeId(uint64_t object_id) {
  changes_.push_back({ObjectKey(kFreeIdPrefix, object_id), std::string()});
}
void MetaBatch::DeleteFreeId(uint64_t object_id) {
  changes_.push_back({ObjectKey(kFreeIdPrefix, object_id), std::nullopt});
}
void MetaBatch::PutNextObjectId(uint64_t next) {
  changes_.push_back({kNextObjectIdKey, EncodeU64(next)});
}
void MetaBatch::PutMapping(const BlockMapping& mapping) {
  changes_.push_back({PrefixedKey(kMappingPrefix,
                                  EncodeMappingKey(mapping.object_id, mapping.block)),
                      EncodeMappingValue(mapping)});
}
void MetaBatch::DeleteMapping(uint64_t object_id, uint64_t block) {
  changes_.push_back(
      {PrefixedKey(kMappingPrefix, EncodeMappingKey(object_id, block)), std::nullopt});
}
void MetaBatch::PutIntent(uint64_t object_id, uint64_t region) {
  changes_.push_back({IntentKey(object_id, region), std::string()});
}
void MetaBatch::DeleteIntent(uint64_t object_id, uint64_t region) {
  changes_.push_back({IntentKey(object_id, region), std::nullopt});
}
void MetaBatch::PutCounter(std::string_view name, uint64_t value) {
  ByteWriter w;
  w.U64(value);
  changes_.push_back({PrefixedKey(kCounterPrefix, name), w.Take()});
}

void MetaBatch::PutWriteLease(int64_t until_ns) {
  changes_.push_back({kWriteLeaseKey, EncodeWriteLease(until_ns)});
}

void MetaBatch::PutDeviceNumber(const DeviceNumberRecord& record) {
  changes_.push_back({PrefixedKey(kDevicePrefix, EncodeDeviceNumberKey(record.dev)),
                      EncodeDeviceNumberValue(record)});
}

struct MetaStore::Impl {
  // Declared before db, so they outlive it (and its background jobs' callbacks).
  std::unique_ptr<rocksdb::Env> env;
  std::mutex guard_mutex;
  std::optional<CommitGuard> guard;  // GUARDED_BY(guard_mutex)
  uint64_t commits = 0;  // GUARDED_BY(commit_mutex): the number of the last commit
  std::unique_ptr<rocksdb::DB> db;

  // The numbers of the live table files of `store`.
  static std::vector<uint64_t> LiveTables(rocksdb::DB* store) {
    std::vector<rocksdb::LiveFileMetaData> files;
    store->GetLiveFilesMetaData(&files);
    std::vector<uint64_t> tables;
    for (const rocksdb::LiveFileMetaData& file : files) tables.push_back(file.file_number);
    std::sort(tables.begin(), tables.end());
    return tables;
  }
  // Records the live table files but those a running compaction may remove at
  // any moment: the record must never name a file the store may no longer have.
  // Called from RocksDB's background jobs with the DB they run for (during Open,
  // before `db` is set, too); nothing once the store is closing.
  void RecordTables(rocksdb::DB* store) {
    if (closing) return;
    std::vector<uint64_t> tables = LiveTables(store);
    std::lock_guard lock(guard_mutex);
    std::erase_if(tables, [&](uint64_t t) { return compacting.contains(t); });
    if (guard) guard->RecordTables(std::move(tables));
  }
  void CompactionBegins(rocksdb::DB* store,
                        const std::vector<rocksdb::CompactionFileInfo>& inputs) {
    {
      std::lock_guard lock(guard_mutex);
      for (const auto& input : inputs) compacting.insert(input.file_number);
    }
    RecordTables(store);
  }
  void CompactionEnded(rocksdb::DB* store,
                       const std::vector<rocksdb::CompactionFileInfo>& inputs) {
    {
      std::lock_guard lock(guard_mutex);
      for (const auto& input : inputs) compacting.erase(input.file_number);
    }
    RecordTables(store);
  }
  std::atomic<bool> closing{false};

  // Background jobs finishing while the store closes (also when Open fails)
  // record nothing; the record is made durable once the store is closed.
  ~Impl() {
    closing = true;
    db.reset();
    if (guard) guard->Sync();
  }
  std::multiset<uint64_t> compacting;  // GUARDED_BY(guard_mutex): inputs of running compactions
  // Commits are rare (a region's first write, group commits), so they run one at
  // a time: RocksDB's write grouping would hand one thread's batch to another
  // through synchronisation ThreadSanitizer cannot see.
  std::mutex commit_mutex;

  // Visits every key with `prefix` (the prefix is stripped from the key).
  Status Scan(char prefix,
              const std::function<Status(std::string_view key, std::string_view value)>& visit) {
    rocksdb::ReadOptions read;
    read.fill_cache = false;  // a scan reads each block once
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
    const std::string start(1, prefix);
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      std::string_view key(it->key().data() + 1, it->key().size() - 1);
      std::string_view value(it->value().data(), it->value().size());
      if (Status s = visit(key, value); !s.ok()) return s;
    }
    return FromRocks(it->status(), "reading cache metadata");
  }
};

namespace {

// RocksDB's own diagnostic log (the LOG files) is not kept: it would grow in
// CACHE, and once a write of it has failed (a full cache file system) RocksDB
// 7.8 aborts on the next one. Every error we act on comes back as a status.
class SilentLogger final : public rocksdb::Logger {
 public:
  SilentLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::HEADER_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Keeps the commit record's list of table files current: a flush or compaction
// changes it once RocksDB's manifest says so durably.
class TableRecorder final : public rocksdb::EventListener {
 public:
  using Inputs = std::vector<rocksdb::CompactionFileInfo>;
  using OnFlush = std::function<void(rocksdb::DB*)>;
  using OnCompaction = std::function<void(rocksdb::DB*, const Inputs&)>;
  TableRecorder(OnFlush flushed, OnCompaction begins, OnCompaction ended)
      : flushed_(std::move(flushed)), begins_(std::move(begins)), ended_(std::move(ended)) {}
  const char* Name() const override { return "WtcachefsTableRecorder"; }
  void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo&) override { flushed_(db); }
  void OnCompactionBegin(rocksdb::DB* db, const rocksdb::CompactionJobInfo& info) override {
    begins_(db, info.input_file_infos);
  }
  void OnCompactionCompleted(rocksdb::DB* db, const rocksdb::CompactionJobInfo& info) override {
    ended_(db, info.input_file_infos);
  }

 private:
  OnFlush flushed_;
  OnCompaction begins_;
  OnCompaction ended_;
};

}  // namespace

MetaStore::MetaStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetaStore::~MetaStore() = default;

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->env = NewPrivateEnv();
  rocksdb::Options options;
  options.env = impl->env.get();
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  // The store's share of the daemon's memory is fixed and small (issue: 32
  // bytes per cached block, everything counted): mapping changes are small and
  // arrive in group commits, so two 2 MiB memtables (RocksDB's default is two
  // of 64 MiB) and a 4 MiB block cache (its default is 8 MiB). The mount's
  // scan of every mapping bypasses the block cache.
  options.write_buffer_size = 2 << 20;
  options.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(4 << 20);
  // Most lookups of the file index miss (a file never cached): a filter
  // answers them without reading a block.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // RocksDB would reserve 1.1 memtables of log up front (fallocate): space a
  // small cache file system needs for the slot file. Our log writes are small.
  options.allow_fallocate = false;
  options.keep_log_file_num = 2;
  options.info_log = std::make_shared<SilentLogger>();
  Impl* state = impl.get();
  options.listeners.push_back(std::make_shared<TableRecorder>(
      [state](rocksdb::DB* db) { state->RecordTables(db); },
      [state](rocksdb::DB* db, const TableRecorder::Inputs& inputs) {
        state->CompactionBegins(db, inputs);
      },
      [state](rocksdb::DB* db, const TableRecorder::Inputs& inputs) {
        state->CompactionEnded(db, inputs);
      }));
  // No compaction may remove a table file before the commit record is checked.
  options.disable_auto_compactions = true;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return FromRocks(s, "cannot open cache metadata in '" + dir + "'");
  impl->db.reset(db);
  MakePrivate(dir);

  std::string value;
  const rocksdb::Status read = impl->db->Get(rocksdb::ReadOptions(), kCommitKey, &value);
  if (!read.ok() && !read.IsNotFound()) {
    return FromRocks(read, "reading cache metadata in '" + dir + "'");
  }
  if (read.ok()) {
    ByteReader reader(value);
    if (!reader.U64(impl->commits) || !reader.AtEnd()) {
      return Status::Error(EUCLEAN, "corrupt metadata record: commit number");
    }
  }
  auto guard = CommitGuard::Open(GuardPath(dir));
  if (!guard.ok()) return guard.status();
  const std::string lost = " lost commits: a file of it was damaged, cut short or replaced";
  if (guard.value().recorded() && *guard.value().recorded() > impl->commits) {
    return Status::Error(EUCLEAN, "it ends at commit " + std::to_string(impl->commits) +
                                      ", but commit " +
                                      std::to_string(*guard.value().recorded()) + " was made;" +
                                      lost);
  }
  const std::vector<uint64_t> tables = Impl::LiveTables(impl->db.get());
  for (uint64_t table : guard.value().tables()) {
    if (!std::binary_search(tables.begin(), tables.end(), table)) {
      return Status::Error(EUCLEAN, "its table file " + std::to_string(table) + " is gone;" +
                                        lost);
    }
  }
  {
    std::lock_guard lock(impl->guard_mutex);
    impl->guard.emplace(std::move(guard).value());
    impl->guard->RecordTables(tables);
  }
  if (Status enabled = FromRocks(impl->db->SetOptions({{"disable_auto_compactions", "false"}}),
                                 "enabling compactions of cache metadata in '" + dir + "'");
      !enabled.ok()) {
    return enabled;
  }
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(impl)));
}

std::map<std::string, uint64_t> MetaStore::SalvageCounters(const std::string& dir) {
  std::map<std::string, uint64_t> counters;
  std::unique_ptr<rocksdb::Env> env = NewPrivateEnv();
  rocksdb::Options options;
  options.env = env.get();
  options.info_log = std::make_shared<SilentLogger>();
  rocksdb::DB* opened = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(options, dir, &opened).ok()) return counters;
  const std::unique_ptr<rocksdb::DB> db(opened);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  const std::string prefix(1, kCounterPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ByteReader r(std::string_view(it->value().data(), it->value().size()));
    uint64_t count = 0;
    if (r.U64(count) && r.AtEnd()) {
      counters.emplace(std::string(it->key().data() + 1, it->key().size() - 1), count);
    }
  }
  return counters;
}

Status MetaStore::Destroy(const std::string& dir) {
  // The directory is ours alone: removing it works even when RocksDB cannot
  // parse what is left of it.
  std::error_code error;
  CommitGuard::Remove(GuardPath(dir));
  std::filesystem::remove_all(dir, error);
  if (error) {
    return Status::Error(error.value(), "cannot delete cache metadata in '" + dir +
                                            "': " + error.message());
  }
  return Status::Ok();
}

Status MetaStore::Commit(const MetaBatch& batch, bool sync) {
  rocksdb::WriteBatch write_batch;
  for (const MetaBatch::Change& change : batch.changes_) {
    const rocksdb::Status s = change.value ? write_batch.Put(change.key, *change.value)
                                           : write_batch.Delete(change.key);
    if (!s.ok()) return FromRocks(s, "building a metadata batch");
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  std::lock_guard lock(impl_->commit_mutex);
  const uint64_t commit = impl_->commits + 1;
  ByteWriter number;
  number.U64(commit);
  if (const rocksdb::Status s = write_batch.Put(kCommitKey, number.Take()); !s.ok()) {
    return FromRocks(s, "building a metadata batch");
  }
  if (Status s = FromRocks(impl_->db->Write(write_options, &write_batch),
                           "writing cache metadata");
      !s.ok()) {
    return s;
  }
  impl_->commits = commit;
  // Only a durable commit is recorded: the record must never run ahead of the store.
  if (sync) {
    std::lock_guard guard_lock(impl_->guard_mutex);
    impl_->guard->Record(commit);
  }
  return Status::Ok();
}

Status MetaStore::Resume() {
  std::lock_guard lock(impl_->commit_mutex);
  return FromRocks(impl_->db->Resume(), "resuming cache metadata writes");
}

Result<std::optional<Superblock>> MetaStore::LoadSuperblock() {
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), kSuperblockKey, &value);
  if (s.IsNotFound()) return std::optional<Superblock>();
  if (!s.ok()) return FromRocks(s, "reading the cache superblock");
  auto sb = DecodeSuperblock(value);
  if (!sb.ok()) return sb.status();
  return std::optional<Superblock>(std::move(sb).value());
}

Result<std::optional<int64_t>> MetaStore::LoadWriteLease() {
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), kWriteLeaseKey, &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return FromRocks(s, "reading the write lease");
  auto until = DecodeWriteLease(value);
  if (!until.ok()) return until.status();
  return std::optional<int64_t>(until.value());
}

Status MetaStore::ForEachFile(const std::function<void(FileRecord&&)>& visit) {
  return impl_->Scan(kFilePrefix, [&](std::string_view, std::string_view value) {
    auto record = DecodeFileRecord(value);
    if (!record.ok()) return record.status();
    visit(std::move(record).value());
    return Status::Ok();
  });
}

Result<uint64_t> MetaStore::ForSomeFiles(uint64_t from, size_t limit,
                                         const std::function<void(FileRecord&&)>& visit) {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read));
  const std::string prefix(1, kFilePrefix);
  size_t visited = 0;
  for (it->Seek(ObjectKey(kFilePrefix, from)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    auto record = DecodeFileRecord(std::string_view(it->value().data(), it->value().size()));
    if (!record.ok()) return record.status();
    if (visited == limit) return record.value().object_id;
    visit(std::move(record).value());
    ++visited;
  }
  if (Status s = FromRocks(it->status(), "reading cache metadata"); !s.ok()) return s;
  return uint64_t{0};
}

Result<std::optional<FileRecord>> MetaStore::LoadFile(uint64_t object_id) {
  std::string value;
  const rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), ObjectKey(kFilePrefix, object_id), &value);
  if (s.IsNotFound()) return std::optional<FileRecord>();
  if (!s.ok()) return FromRocks(s, "reading a file record");
  auto record = DecodeFileRecord(value);
  if (!record.ok()) return record.status();
  return std::optional<FileRecord>(std::move(record).value());
}

Result<std::optional<std::string>> MetaStore::LoadFileHandle(uint64_t object_id) {
  std::string value;
  const rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), ObjectKey(kFileHandlePrefix, object_id), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading a file handle");
  return std::optional<std::string>(std::move(value));
}

Result<std::optional<uint64_t>> MetaStore::FindFileId(uint64_t dev, uint64_t ino) {
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), FileIdKey(dev, ino), &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "reading the file index");
  auto id = DecodeU64(value, "file index");
  if (!id.ok()) return id.status();
  return std::optional<uint64_t>(id.value());
}

Result<std::vector<uint64_t>> MetaStore::LoadFreeIds(uint64_t from, size_t limit) {
  std::vector<uint64_t> ids;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kFreeIdPrefix);
  for (it->Seek(ObjectKey(kFreeIdPrefix, from));
       ids.size() < limit && it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto id = DecodeU64(std::string_view(it->key().data() + 1, it->key().size() - 1), "free id");
    if (!id.ok()) return id.status();
    ids.push_back(id.value());
  }
  if (Status s = FromRocks(it->status(), "reading free object ids"); !s.ok()) return s;
  return ids;
}

Result<std::optional<uint64_t>> MetaStore::LoadNextObjectId() {
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), kNextObjectIdKey, &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "reading the next object id");
  auto next = DecodeU64(value, "next object id");
  if (!next.ok()) return next.status();
  return std::optional<uint64_t>(next.value());
}

Result<uint64_t> MetaStore::LastFileId() {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kFilePrefix);
  it->SeekForPrev(ObjectKey(kFilePrefix, UINT64_MAX));
  if (!it->Valid()) {
    if (Status s = FromRocks(it->status(), "reading file records"); !s.ok()) return s;
    return uint64_t{0};
  }
  if (!it->key().starts_with(prefix)) return uint64_t{0};
  return DecodeU64(std::string_view(it->key().data() + 1, it->key().size() - 1), "file key");
}

Status MetaStore::ForEachMapping(uint32_t sectors_per_block,
                                 const std::function<void(BlockMapping&&)>& visit) {
  return impl_->Scan(kMappingPrefix, [&](std::string_view key, std::string_view value) {
    auto mapping = DecodeMapping(key, value, sectors_per_block);
    if (!mapping.ok()) return mapping.status();
    visit(std::move(mapping).value());
    return Status::Ok();
  });
}

Status MetaStore::ForEachIntent(
    const std::function<void(uint64_t object_id, uint64_t region)>& visit) {
  return impl_->Scan(kIntentPrefix, [&](std::string_view key, std::string_view) {
    ByteReader r(key);
    uint64_t object_id = 0, region = 0;
    if (!r.U64(object_id) || !r.U64(region) || !r.AtEnd()) {
      return Status::Error(EUCLEAN, "corrupt metadata record: intent key length");
    }
    visit(object_id, region);
    return Status::Ok();
  });
}

Result<std::map<std::string, uint64_t>> MetaStore::LoadCounters() {
  std::map<std::string, uint64_t> counters;
  Status s = impl_->Scan(kCounterPrefix, [&](std::string_view key, std::string_view value) {
    ByteReader r(value);
    uint64_t count = 0;
    if (!r.U64(count) || !r.AtEnd()) {
      return Status::Error(EUCLEAN, "corrupt metadata record: counter length");
    }
    counters.emplace(std::string(key), count);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return counters;
}

Status MetaStore::ForEachDeviceNumber(
    const std::function<void(DeviceNumberRecord&&)>& visit) {
  return impl_->Scan(kDevicePrefix, [&](std::string_view key, std::string_view value) {
    auto record = DecodeDeviceNumber(key, value);
    if (!record.ok()) return record.status();
    visit(std::move(record).value());
    return Status::Ok();
  });
}

}  // namespace wtcachefs
