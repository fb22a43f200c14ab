// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/slot_file.h"

#include <fcntl.h>

#include "cache_dir/preallocated_file.h"

namespace wtcachefs {

Result<SlotFile> SlotFile::Open(const std::string& path, uint64_t slot_count,
                                uint32_t block_size, CacheSpace space) {
  auto fd = OpenPreallocated(path, static_cast<off_t>(slot_count * block_size),
                             "the cache slot file", space);
  if (!fd.ok()) return fd.status();
  return SlotFile(std::move(fd).value(), slot_count, block_size);
}

Status SlotFile::TrimToSize() {
  return TrimTo(fd_.get(), static_cast<off_t>(slot_count_ * block_size_), "the cache slot file");
}

Status SlotFile::Discard(std::span<const uint32_t> slots, size_t* discarded) {
  return PunchUnits(fd_.get(), slots, block_size_, "free slots of the cache slot file",
                    discarded);
}

Status SlotFile::DiscardFrom(uint64_t first) {
  if (first >= slot_count_) return Status::Ok();
  const off_t length = static_cast<off_t>((slot_count_ - first) * block_size_);
  if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, OffsetOf(first),
                  length) != 0) {
    return Status::FromErrno("cannot give back the room of unused slots of the cache slot file");
  }
  return Status::Ok();
}

}  // namespace wtcachefs
