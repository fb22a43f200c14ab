// SPDX-License-Identifier: Apache-2.0
#include "engine/object_table.h"

#include <algorithm>

#include "engine/racy_fingerprint.h"

namespace wtcachefs {
namespace {

// Index entries written per commit when indexing an older store's records.
constexpr size_t kIndexBatch = 10'000;
// Objects looked at per trim: a trim costs the same whatever the table holds.
constexpr int kTrimChecks = 16;

}  // namespace

Fingerprint FingerprintOf(const struct stat& st) {
  constexpr int64_t kNs = 1'000'000'000;
  return Fingerprint{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_size),
                     st.st_mtim.tv_sec * kNs + st.st_mtim.tv_nsec,
                     st.st_ctim.tv_sec * kNs + st.st_ctim.tv_nsec};
}

std::vector<uint64_t> ObjectTable::Changes::dead_ids() const {
  std::vector<uint64_t> ids;
  for (const auto& object : erased_) ids.push_back(object->id);
  for (const auto& object : dropped_) ids.push_back(object->id);
  return ids;
}

void ObjectTable::Changes::WriteTo(MetaBatch& batch) const {
  for (const uint64_t id : reused_ids_) batch.DeleteFreeId(id);
  for (const auto& object : dropped_) {
    if (!object->id_was_free) batch.PutFreeId(object->id);
  }
  for (const auto& object : erased_) {
    batch.DeleteFile(object->id);
    batch.DeleteFileId(object->dev, object->ino);
    batch.DeleteFileHandle(object->id);
    batch.PutFreeId(object->id);
  }
  for (const auto& object : records_) {
    std::lock_guard guard(object->fingerprint_mutex);
    batch.PutFile(FileRecord{
        object->id, object->unvouched ? Smudged(object->fingerprint) : object->fingerprint});
    batch.PutFileId(object->dev, object->ino, object->id);
    if (!object->handle.empty()) batch.PutFileHandle(object->id, object->handle);
  }
  if (next_id_ != 0) batch.PutNextObjectId(next_id_);
}

ObjectTable::ObjectTable(MetaStore& store, size_t resident_limit)
    : store_(store), resident_limit_(resident_limit) {}

Status ObjectTable::Open() {
  auto next = store_.LoadNextObjectId();
  if (!next.ok()) return next.status();
  if (next.value()) {
    next_id_ = std::max<uint64_t>(*next.value(), 1);
  } else {
    // Written before records were indexed by origin file: index them once.
    auto last = store_.LastFileId();
    if (!last.ok()) return last.status();
    next_id_ = last.value() + 1;
    std::vector<FileRecord> records;
    if (Status s = store_.ForEachFile([&](FileRecord&& r) { records.push_back(r); }); !s.ok()) {
      return s;
    }
    MetaBatch batch;
    for (const FileRecord& r : records) {
      if (r.fingerprint.ino != 0)
        batch.PutFileId(r.fingerprint.dev, r.fingerprint.ino, r.object_id);
      if (batch.size() == kIndexBatch) {
        if (Status s = store_.Commit(batch, /*sync=*/false); !s.ok()) return s;
        batch = MetaBatch();
      }
    }
    batch.PutNextObjectId(next_id_);
    if (Status s = store_.Commit(batch, /*sync=*/true); !s.ok()) return s;
  }
  auto free = store_.LoadFreeIds(0, SIZE_MAX);
  if (!free.ok()) return free.status();
  std::lock_guard lock(mutex_);
  free_ = std::move(free).value();
  std::erase_if(free_, [&](uint64_t id) { return id == 0 || id >= next_id_; });
  return Status::Ok();
}

Result<ObjectTable::Found> ObjectTable::FindOrCreate(const struct stat& st) {
  const Fingerprint fresh = FingerprintOf(st);
  const Key key{fresh.dev, fresh.ino};
  std::lock_guard lock(mutex_);
  auto found = FindLocked(key);
  if (!found.ok()) return found.status();
  if (found.value()) {
    TrimLocked();
    return Found{std::move(found).value(), false};
  }
  bool id_was_free = false;
  auto object = std::make_shared<CachedObject>(NewIdLocked(&id_was_free), key.dev, key.ino);
  object->id_was_free = id_was_free;  // not yet shared
  object->fingerprint = fresh;
  object->size = fresh.size;
  AddLocked(key, object);
  TrimLocked();
  return Found{std::move(object), true};
}

Result<std::shared_ptr<CachedObject>> ObjectTable::Find(uint64_t dev, uint64_t ino) {
  std::lock_guard lock(mutex_);
  auto found = FindLocked(Key{dev, ino});
  TrimLocked();
  return found;
}

Result<std::shared_ptr<CachedObject>> ObjectTable::FindById(uint64_t object_id) {
  std::lock_guard lock(mutex_);
  if (erasing_.contains(object_id)) return std::shared_ptr<CachedObject>();
  auto record = store_.LoadFile(object_id);
  if (!record.ok()) return record.status();
  if (!record.value() || record.value()->fingerprint.ino == 0) {
    return std::shared_ptr<CachedObject>();
  }
  const Fingerprint& fingerprint = record.value()->fingerprint;
  const Key key{fingerprint.dev, fingerprint.ino};
  if (auto it = resident_.find(key); it != resident_.end()) {
    return it->second.object->id == object_id ? it->second.object : std::shared_ptr<CachedObject>();
  }
  auto indexed = store_.FindFileId(key.dev, key.ino);
  if (!indexed.ok()) return indexed.status();
  // The index leads elsewhere: the record is of a file that is gone.
  if (indexed.value() != object_id) return std::shared_ptr<CachedObject>();
  auto object = std::make_shared<CachedObject>(object_id, key.dev, key.ino);
  object->recorded = true;
  object->fingerprint = fingerprint;
  object->size = fingerprint.size;
  object->last_change_end = left_change_end_;
  AddLocked(key, object);
  TrimLocked();
  return object;
}

Result<std::shared_ptr<CachedObject>> ObjectTable::FindLocked(const Key& key) {
  if (auto it = resident_.find(key); it != resident_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
    return it->second.object;
  }
  auto id = store_.FindFileId(key.dev, key.ino);
  if (!id.ok()) return id.status();
  if (!id.value() || erasing_.contains(*id.value())) return std::shared_ptr<CachedObject>();
  auto record = store_.LoadFile(*id.value());
  if (!record.ok()) return record.status();
  const std::optional<FileRecord>& r = record.value();
  // An index entry without its record, or with one of another file, leads
  // nowhere (a stat that failed leaves a fingerprint of no file: still ours).
  if (!r || (r->fingerprint.ino != 0 &&
             (r->fingerprint.dev != key.dev || r->fingerprint.ino != key.ino))) {
    return std::shared_ptr<CachedObject>();
  }
  auto object = std::make_shared<CachedObject>(r->object_id, key.dev, key.ino);
  object->recorded = true;
  object->fingerprint = r->fingerprint;
  object->size = r->fingerprint.size;
  object->last_change_end = left_change_end_;
  return AddLocked(key, std::move(object));
}

std::shared_ptr<CachedObject> ObjectTable::AddLocked(const Key& key,
                                                     std::shared_ptr<CachedObject> object) {
  recent_.push_front(key);
  auto [it, added] = resident_.try_emplace(key, Resident{object, recent_.begin()});
  if (!added) {
    recent_.erase(it->second.recent);
    it->second = Resident{object, recent_.begin()};
  }
  return object;
}

void ObjectTable::TrimLocked() {
  for (int checks = 0; checks < kTrimChecks && resident_.size() > resident_limit_; ++checks) {
    auto it = resident_.find(recent_.back());
    CachedObject& object = *it->second.object;
    // Held by no one else: nothing can reach it but through the table. A
    // dirty record or a commit under way holds it too.
    bool idle = it->second.object.use_count() == 1;
    if (idle) {
      std::unique_lock guard(object.fingerprint_mutex, std::try_to_lock);
      idle = guard.owns_lock() && object.open_files == 0 && !object.unlinked &&
             object.changes_in_flight == 0 && object.adopt_changes_until_ns == 0 &&
             !object.kernel_cache_stale;
      if (idle) left_change_end_ = std::max(left_change_end_, object.last_change_end);
    }
    if (!idle) {
      recent_.splice(recent_.begin(), recent_, it->second.recent);
      continue;
    }
    std::shared_ptr<CachedObject> leaving = std::move(it->second.object);
    recent_.pop_back();
    resident_.erase(it);
    if (!leaving->recorded) ForgetLocked(std::move(leaving));
  }
}

uint64_t ObjectTable::NewIdLocked(bool* was_free) {
  *was_free = !free_.empty();
  if (*was_free) {
    const uint64_t id = free_.back();
    free_.pop_back();
    return id;
  }
  next_id_changed_ = true;
  return next_id_++;
}

void ObjectTable::Record(const std::shared_ptr<CachedObject>& object,
                         const std::function<std::string()>& handle_of) {
  if (object->recorded.load(std::memory_order_acquire)) return;
  std::string handle = handle_of ? handle_of() : "";
  std::lock_guard lock(mutex_);
  if (object->recorded.exchange(true) || erasing_.contains(object->id)) return;
  // Read by the commit only once dirty, under this lock.
  object->handle = std::move(handle);
  dirty_.emplace(object->id, object);
  if (object->id_was_free) reused_.push_back(object->id);
}

void ObjectTable::DropUnrecorded() {
  std::lock_guard lock(mutex_);
  for (auto it = resident_.begin(); it != resident_.end();) {
    if (it->second.object->recorded || it->second.object.use_count() != 1) {
      ++it;
      continue;
    }
    std::shared_ptr<CachedObject> leaving = std::move(it->second.object);
    recent_.erase(it->second.recent);
    it = resident_.erase(it);
    ForgetLocked(std::move(leaving));
  }
}

void ObjectTable::MarkDirty(const std::shared_ptr<CachedObject>& object) {
  if (!object->recorded.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  if (!erasing_.contains(object->id)) dirty_.emplace(object->id, object);
}

void ObjectTable::ForgetLocked(std::shared_ptr<CachedObject> object) {
  if (!erasing_.insert(object->id).second) return;
  dirty_.erase(object->id);
  if (object->recorded) {
    erased_.push_back(std::move(object));
  } else {
    dropped_.push_back(std::move(object));
  }
}

void ObjectTable::Erase(const std::shared_ptr<CachedObject>& object) {
  std::lock_guard lock(mutex_);
  if (auto it = resident_.find(Key{object->dev, object->ino});
      it != resident_.end() && it->second.object == object) {
    recent_.erase(it->second.recent);
    resident_.erase(it);
  }
  ForgetLocked(object);
}

ObjectTable::Changes ObjectTable::TakeChanges() {
  Changes changes;
  std::lock_guard lock(mutex_);
  changes.records_.reserve(dirty_.size());
  for (auto& [id, object] : dirty_) changes.records_.push_back(std::move(object));
  dirty_.clear();
  changes.erased_.swap(erased_);
  changes.dropped_.swap(dropped_);
  changes.reused_ids_.swap(reused_);
  if (next_id_changed_) changes.next_id_ = next_id_;
  next_id_changed_ = false;
  return changes;
}

void ObjectTable::Committed(Changes changes) {
  std::lock_guard lock(mutex_);
  for (const auto& object : changes.erased_) {
    erasing_.erase(object->id);
    unverified_.push_back(object->id);
  }
  // Never mapped a block (Record() comes first): free at once.
  for (const auto& object : changes.dropped_) {
    erasing_.erase(object->id);
    free_.push_back(object->id);
  }
}

void ObjectTable::ReturnChanges(Changes changes) {
  std::lock_guard lock(mutex_);
  for (auto& object : changes.records_) {
    if (!erasing_.contains(object->id)) dirty_.emplace(object->id, std::move(object));
  }
  erased_.insert(erased_.begin(), changes.erased_.begin(), changes.erased_.end());
  dropped_.insert(dropped_.begin(), changes.dropped_.begin(), changes.dropped_.end());
  reused_.insert(reused_.end(), changes.reused_ids_.begin(), changes.reused_ids_.end());
  if (changes.next_id_ != 0) next_id_changed_ = true;
}

std::vector<uint64_t> ObjectTable::TakeUnverified() {
  std::lock_guard lock(mutex_);
  return std::exchange(unverified_, {});
}

void ObjectTable::FreeVerified(const std::vector<uint64_t>& ids) {
  std::lock_guard lock(mutex_);
  free_.insert(free_.end(), ids.begin(), ids.end());
}

void ObjectTable::ReturnUnverified(const std::vector<uint64_t>& ids) {
  std::lock_guard lock(mutex_);
  unverified_.insert(unverified_.end(), ids.begin(), ids.end());
}

size_t ObjectTable::resident() const {
  std::lock_guard lock(mutex_);
  return resident_.size();
}

size_t ObjectTable::free_ids() const {
  std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace wtcachefs
