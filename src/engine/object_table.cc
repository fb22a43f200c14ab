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

std::vector<uint64_t> ObjectTable::TakeErased() {
  std::lock_guard lock(mutex_);
  taken_erased_ = std::move(erased_);
  erased_.clear();
  return taken_erased_;
}

void ObjectTable::ReturnTaken() {
  std::lock_guard lock(mutex_);
  dirty_.merge(taken_);
  taken_.clear();
  erased_.insert(erased_.end(), taken_erased_.begin(), taken_erased_.end());
  taken_erased_.clear();
}

void ObjectTable::Erase(const std::shared_ptr<CachedObject>& object) {
  Key key;
  {
    std::lock_guard guard(object->fingerprint_mutex);
    key = Key{object->fingerprint.dev, object->fingerprint.ino};
  }
  std::lock_guard lock(mutex_);
  auto it = objects_.find(key);
  if (it == objects_.end() || it->second != object) {
    // Its fingerprint no longer names its key (a stat failed): looked for.
    it = std::find_if(objects_.begin(), objects_.end(),
                      [&](const auto& entry) { return entry.second == object; });
  }
  if (it != objects_.end()) objects_.erase(it);
  dirty_.erase(object->id);
  erased_.push_back(object->id);
}

size_t ObjectTable::size() {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

}  // namespace wtcachefs
