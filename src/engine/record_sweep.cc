// SPDX-License-Identifier: Apache-2.0
#include "engine/record_sweep.h"

#include <fcntl.h>

#include <vector>

#include "io/origin_handle.h"

namespace wtcachefs {

RecordSweep::RecordSweep(MetaStore& store, ObjectTable& objects, const std::string& origin_root,
                         uint64_t origin_dev)
    : store_(store), objects_(objects), origin_dev_(origin_dev) {
  if (origin_root.empty()) return;
  UniqueFd root(::open(origin_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.valid() && OriginHandle::FileSystemKeepsHandles(root.get())) root_ = std::move(root);
}

std::string RecordSweep::HandleOf(int fd, uint64_t dev) const {
  if (!active() || dev != origin_dev_) return "";
  const std::optional<OriginHandle> handle = OriginHandle::OfKnownKind(fd);
  return handle ? handle->bytes() : "";
}

Status RecordSweep::Step(size_t limit,
                         const std::function<void(const std::shared_ptr<CachedObject>&)>& gone) {
  if (!active()) return Status::Ok();
  std::vector<FileRecord> records;
  auto next =
      store_.ForSomeFiles(cursor_, limit, [&](FileRecord&& record) { records.push_back(record); });
  if (!next.ok()) return next.status();
  cursor_ = next.value();
  for (const FileRecord& record : records) {
    auto bytes = store_.LoadFileHandle(record.object_id);
    if (!bytes.ok()) return bytes.status();
    if (!bytes.value()) continue;
    const std::optional<OriginHandle> handle = OriginHandle::FromBytes(std::move(*bytes.value()));
    if (!handle) continue;
    int error = 0;
    const UniqueFd fd = handle->Reopen(root_.get(), &error);
    bool is_gone = error == ESTALE;
    if (fd.valid()) {
      struct stat st;
      is_gone = ::fstat(fd.get(), &st) == 0 && st.st_nlink == 0;
    } else if (error == EPERM) {
      refused_ = true;  // this process cannot reopen by handle
      return Status::Ok();
    }
    if (!is_gone) continue;
    auto object = objects_.FindById(record.object_id);
    if (!object.ok()) return object.status();
    if (object.value()) gone(object.value());
  }
  return Status::Ok();
}

}  // namespace wtcachefs
