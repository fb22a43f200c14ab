// SPDX-License-Identifier: Apache-2.0
#include "engine/slot_file.h"

#include "engine/preallocated_file.h"

namespace wtcachefs {

Result<SlotFile> SlotFile::Open(const std::string& path, uint64_t slot_count,
                                uint32_t block_size) {
  auto fd = OpenPreallocated(path, static_cast<off_t>(slot_count * block_size),
                             "the cache slot file");
  if (!fd.ok()) return fd.status();
  return SlotFile(std::move(fd).value(), slot_count, block_size);
}

Status SlotFile::TrimToSize() {
  return TrimTo(fd_.get(), static_cast<off_t>(slot_count_ * block_size_), "the cache slot file");
}

}  // namespace wtcachefs
