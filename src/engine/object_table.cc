#include "engine/object_table.h"

#include <algorithm>

namespace wtcachefs {

Fingerprint FingerprintOf(const struct stat& st) {
  constexpr int64_t kNs = 1'000'000'000;
  return Fingerprint{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_size),
                     st.st_mtim.tv_sec * kNs + st.st_mtim.tv_nsec,
                     st.st_ctim.tv_sec * kNs + st.st_ctim.tv_nsec};
}

ObjectTable::Opened ObjectTable::Open(const struct stat& st) {
  const Fingerprint fresh = FingerprintOf(st);
  std::shared_ptr<CachedObject> object;
  bool created = false;
  {
    std::lock_guard lock(mutex_);
    auto& slot = objects_[Key{fresh.dev, fresh.ino}];
    if (!slot) {
      slot = std::make_shared<CachedObject>(next_id_++);
      created = true;
    }
    object = slot;
  }
  bool unchanged;
  uint64_t previous_size;
  {
    std::lock_guard guard(object->fingerprint_mutex);
    unchanged = !created && object->fingerprint == fresh;
    previous_size = object->fingerprint.size;
    object->fingerprint = fresh;
    object->size = fresh.size;
  }
  if (!unchanged) MarkDirty(object);
  return Opened{std::move(object), unchanged, created, previous_size};
}

void ObjectTable::Restore(const FileRecord& record) {
  std::lock_guard lock(mutex_);
  auto object = std::make_shared<CachedObject>(record.object_id);
  object->fingerprint = record.fingerprint;
  object->size = record.fingerprint.size;
  objects_[Key{record.fingerprint.dev, record.fingerprint.ino}] = std::move(object);
  next_id_ = std::max(next_id_, record.object_id + 1);
}

void ObjectTable::MarkDirty(const std::shared_ptr<CachedObject>& object) {
  std::lock_guard lock(mutex_);
  dirty_.emplace(object->id, object);
}

std::vector<FileRecord> ObjectTable::TakeDirty() {
  std::unordered_map<uint64_t, std::shared_ptr<CachedObject>> dirty;
  {
    std::lock_guard lock(mutex_);
    dirty.swap(dirty_);
  }
  std::vector<FileRecord> records;
  records.reserve(dirty.size());
  for (const auto& [id, object] : dirty) {
    std::lock_guard guard(object->fingerprint_mutex);
    records.push_back(FileRecord{id, object->fingerprint});
  }
  return records;
}

}  // namespace wtcachefs
