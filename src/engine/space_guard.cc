// SPDX-License-Identifier: Apache-2.0
#include "engine/space_guard.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "engine/human_bytes.h"
#include "engine/preallocated_file.h"

namespace wtcachefs {

Status CheckRoomToReserve(const std::string& cache_dir, uint64_t data_bytes, uint64_t bytes,
                          const std::vector<std::string>& paths) {
  uint64_t held = 0;
  for (const std::string& path : paths) held += AllocatedBytes(path);
  struct statvfs fs;
  if (::statvfs(cache_dir.c_str(), &fs) != 0) {
    return Status::FromErrno("cannot measure the file system of cache '" + cache_dir + "'");
  }
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (held >= bytes || bytes - held <= available) return Status::Ok();
  return Status::Error(
      ENOSPC, "cache size " + HumanBytes(data_bytes) + " (" + std::to_string(data_bytes) +
                  " bytes) needs " + HumanBytes(bytes - held) +
                  " more with its checksums, but the file system of cache '" + cache_dir +
                  "' has " + HumanBytes(available) + " (" + std::to_string(available) +
                  " bytes) free: choose a smaller --cache-size, free space there, or leave "
                  "--cache-size out for a cache that grows within the free space");
}

void SpaceGuard::Start() {
  (void)slots_.DiscardFrom(index_.fresh_slots_from());
  BeforeCommit();
  AfterCommit();
}

std::optional<int64_t> SpaceGuard::Headroom() const {
  struct statvfs fs;
  if (::statvfs(cache_dir_.c_str(), &fs) != 0) return std::nullopt;
  const auto total = static_cast<int64_t>(fs.f_blocks * fs.f_frsize);
  const auto available = static_cast<int64_t>(fs.f_bavail * fs.f_frsize);
  return available - total / 100 * static_cast<int64_t>(kFloorPercent);
}

void SpaceGuard::DiscardFreeSlots() {
  std::vector<uint32_t> free = index_.TakeFreeSlotsToDiscard();
  std::sort(free.begin(), free.end());
  (void)slots_.Discard(free);  // a file system that cannot punch keeps the room
  index_.ReturnDiscardedSlots(free);
}

void SpaceGuard::BeforeCommit() {
  std::optional<int64_t> headroom = Headroom();
  if (!headroom) return;
  if (*headroom < 0) {
    DiscardFreeSlots();
    headroom = Headroom();
    if (!headroom) return;
  }
  below_floor_ = *headroom < 0;
  const uint64_t block_size = slots_.block_size();
  const uint64_t held = index_.held_slots();
  uint64_t limit;
  if (*headroom >= 0) {
    limit = held + static_cast<uint64_t>(*headroom) / block_size;
  } else {
    const uint64_t deficit = (static_cast<uint64_t>(-*headroom) + block_size - 1) / block_size;
    limit = held - std::min(held, deficit);
  }
  index_.SetSpaceLimit(limit);
}

void SpaceGuard::AfterCommit() {
  if (below_floor_) DiscardFreeSlots();
}

}  // namespace wtcachefs
