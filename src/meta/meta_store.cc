// MetaStore on RocksDB. Keys start with a one-byte record type; integers are
// big-endian so that each type's keys sort numerically.
#include "wtcachefs/meta_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <cerrno>
#include <cstdarg>
#include <mutex>
#include <filesystem>

#include "meta/byte_codec.h"
#include "meta/private_env.h"

namespace wtcachefs {
namespace {

constexpr char kSuperblockKey[] = "S";
constexpr char kFilePrefix = 'F';
constexpr char kMappingPrefix = 'M';
constexpr char kIntentPrefix = 'I';
constexpr char kCounterPrefix = 'C';

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

std::string IntentKey(uint64_t object_id, uint64_t region) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(kIntentPrefix));
  w.U64(object_id);
  w.U64(region);
  return w.Take();
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  const int error = s.IsCorruption() ? EUCLEAN : s.IsIOError() ? EIO : EINVAL;
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

struct MetaStore::Impl {
  std::unique_ptr<rocksdb::Env> env;  // outlives db (declared first)
  std::unique_ptr<rocksdb::DB> db;
  // Commits are rare (a region's first write, group commits), so they run one at
  // a time: RocksDB's write grouping would hand one thread's batch to another
  // through synchronisation ThreadSanitizer cannot see.
  std::mutex commit_mutex;

  // Visits every key with `prefix` (the prefix is stripped from the key).
  Status Scan(char prefix,
              const std::function<Status(std::string_view key, std::string_view value)>& visit) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
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
  // Mapping changes are small and arrive in group commits: two 8 MiB memtables
  // bound the daemon's memory (RocksDB's default is two of 64 MiB).
  options.write_buffer_size = 8 << 20;
  options.max_write_buffer_number = 2;
  options.keep_log_file_num = 2;
  options.info_log = std::make_shared<SilentLogger>();
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return FromRocks(s, "cannot open cache metadata in '" + dir + "'");
  impl->db.reset(db);
  MakePrivate(dir);
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(impl)));
}

Status MetaStore::Destroy(const std::string& dir) {
  // The directory is ours alone: removing it works even when RocksDB cannot
  // parse what is left of it.
  std::error_code error;
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
  return FromRocks(impl_->db->Write(write_options, &write_batch), "writing cache metadata");
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

Status MetaStore::ForEachFile(const std::function<void(FileRecord&&)>& visit) {
  return impl_->Scan(kFilePrefix, [&](std::string_view, std::string_view value) {
    auto record = DecodeFileRecord(value);
    if (!record.ok()) return record.status();
    visit(std::move(record).value());
    return Status::Ok();
  });
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

}  // namespace wtcachefs
