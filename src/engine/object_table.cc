// SPDX-License-Identifier: Apache-2.0
#include "engine/object_table.h"

#include <time.h>

#include <algorithm>

#include "engine/racy_fingerprint.h"

namespace wtcachefs {

Fingerprint FingerprintOf(const struct stat& st) {
  constexpr int64_t kNs = 1'000'000'000;
  return Fingerprint{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_size),
                     st.st_mtim.tv_sec * kNs + st.st_mtim.tv_nsec,
                     st.st_ctim.tv_sec * kNs + st.st_ctim.tv_nsec};
}

ObjectTable::Found ObjectTable::FindOrCreate(const struct stat& st) {
  const Fingerprint fresh = FingerprintOf(st);
  std::shared_ptr<CachedObject> object;
  bool created = false;
  {
    std::lock_guard lock(mutex_);
    auto& slot = objects_[Key{fresh.dev, fresh.ino}];
    if (!slot) {
      slot = std::make_shared<CachedObject>(next_id_++);
      created = true;
      std::lock_guard guard(slot->fingerprint_mutex);
      slot->fingerprint = fresh;
      slot->size = fresh.size;
    }
    object = slot;
  }
  if (created) MarkDirty(object);
  return Found{std::move(object), created};
}

std::shared_ptr<CachedObject> ObjectTable::Find(uint64_t dev, uint64_t ino) {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(Key{dev, ino});
  return it == objects_.end() ? nullptr : it->second;
}

void ObjectTable::Restore(const FileRecord& record) {
  std::lock_guard lock(mutex_);
  auto object = std::make_shared<CachedObject>(record.object_id);
  object->fingerprint = record.fingerprint;
  object->size = record.fingerprint.size;
  objects_[Key{record.fingerprint.dev, record.fingerprint.ino}] = std::move(object);
  next_id_ = std::max(next_id_, record.object_id + 1);
}

void ObjectTable::ForEach(const std::function<void(CachedObject&)>& visit) {
  std::lock_guard lock(mutex_);
  for (const auto& [key, object] : objects_) visit(*object);
}

void ObjectTable::MarkDirty(const std::shared_ptr<CachedObject>& object) {
  std::lock_guard lock(mutex_);
  dirty_.emplace(object->id, object);
}

std::vector<FileRecord> ObjectTable::TakeDirty() {
  {
    std::lock_guard lock(mutex_);
    taken_.clear();
    taken_.swap(dirty_);
  }
  // taken_ is the caller's until the next TakeDirty() or ReturnTaken().
  std::vector<FileRecord> records;
  records.reserve(taken_.size());
  for (const auto& [id, object] : taken_) {
    std::lock_guard guard(object->fingerprint_mutex);
    records.push_back(FileRecord{
        id, object->unvouched ? Smudged(object->fingerprint) : object->fingerprint});
  }
  return records;
}

void ObjectTable::ReturnTaken() {
  std::lock_guard lock(mutex_);
  dirty_.merge(taken_);
  taken_.clear();
}

}  // namespace wtcachefs
