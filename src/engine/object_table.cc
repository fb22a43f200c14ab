#include "engine/object_table.h"

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
  std::lock_guard change(object->change_mutex);
  const bool unchanged = !created && object->fingerprint == fresh;
  const uint64_t previous_size = object->fingerprint.size;
  object->fingerprint = fresh;
  object->size = fresh.size;
  return Opened{std::move(object), unchanged, created, previous_size};
}

}  // namespace wtcachefs
