// SPDX-License-Identifier: Apache-2.0
#include "engine/crash_recheck.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <shared_mutex>
#include <string>

#include "engine/object_table.h"

namespace wtcachefs {
namespace {

// A suspect whose slot is no longer held: mapped again.
constexpr uint64_t kReadmitted = std::numeric_limits<uint64_t>::max();

// Reads [offset, offset + buffer.size()) of `fd` until full or end of file;
// the bytes read, or -errno.
int64_t ReadFully(IoBackend& io, int fd, off_t offset, std::span<char> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    IoRequest read = IoRequest::Read(fd, offset + static_cast<off_t>(done), buffer.subspan(done));
    if (Status s = io.Submit({&read, 1}); !s.ok()) return -EIO;
    if (read.result < 0) return read.result;
    if (read.result == 0) break;
    done += static_cast<size_t>(read.result);
  }
  return static_cast<int64_t>(done);
}

}  // namespace

bool CrashRecheck::Hold(uint64_t object_id, Suspect suspect) {
  if (!index_.HoldForRecheck(suspect.slot)) return false;
  std::lock_guard lock(mutex_);
  jobs_[object_id].suspects.push_back(std::move(suspect));
  any_pending_ = true;
  return true;
}

bool CrashRecheck::Pending(uint64_t object_id) const {
  if (!any_pending_.load(std::memory_order_relaxed)) return false;
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(object_id);
  return it != jobs_.end() && it->second.object == nullptr && !it->second.discarded;
}

void CrashRecheck::Start(const std::shared_ptr<CachedObject>& object, int fd) {
  if (!Pending(object->id)) return;
  // Reopened through /proc: the caller's descriptor may be O_PATH or
  // write-only, and it is closed when the caller is done with it.
  UniqueFd origin(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC));
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(object->id);
  if (it == jobs_.end() || it->second.object != nullptr || it->second.discarded) return;
  Job& job = it->second;
  if (!origin.valid() || stopping_) {
    ReleaseLocked(job);
    jobs_.erase(it);
    any_pending_ = !jobs_.empty();
    return;
  }
  job.object = object;
  job.origin = std::move(origin);
  queue_.push_back(object->id);
  if (!worker_.joinable()) worker_ = std::thread([this] { Run(); });
  started_.notify_one();
}

void CrashRecheck::Discard(uint64_t object_id) {
  if (!any_pending_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(object_id);
  if (it == jobs_.end()) return;
  it->second.discarded = true;
  // A job the worker has not taken yet is done with here; the worker hands
  // back the slots of the one it runs.
  if (it->second.object == nullptr) {
    ReleaseLocked(it->second);
    jobs_.erase(it);
    any_pending_ = !jobs_.empty();
  }
}

void CrashRecheck::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  started_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mutex_);
  for (auto& [object_id, job] : jobs_) ReleaseLocked(job);
  jobs_.clear();
  queue_.clear();
  any_pending_ = false;
}

void CrashRecheck::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    started_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const uint64_t object_id = queue_.front();
    queue_.pop_front();
    Job& job = jobs_.at(object_id);  // references into jobs_ outlive rehashing
    lock.unlock();
    Recheck(object_id, job);
    lock.lock();
    ReleaseLocked(job);
    jobs_.erase(object_id);
    any_pending_ = !jobs_.empty();
  }
}

void CrashRecheck::Recheck(uint64_t object_id, Job& job) {
  // What the crashed daemon wrote may still be in origin's page cache only:
  // what is compared must be durable before a mapping of it can be.
  IoRequest sync = IoRequest::Sync(job.origin.get(), /*data_only=*/true);
  if (!io_.Submit({&sync, 1}).ok() || sync.result < 0) return;
  std::sort(job.suspects.begin(), job.suspects.end(),
            [](const Suspect& a, const Suspect& b) { return a.block < b.block; });
  for (Suspect& suspect : job.suspects) {
    std::shared_lock change(job.object->change_gate);
    BlockRangeLock::Held range(job.object->write_ranges, suspect.block, suspect.block + 1);
    const SectorSet keep = Compare(object_id, job.origin.get(), suspect);
    std::lock_guard lock(mutex_);
    if (stopping_ || job.discarded) return;
    if (!keep.None() && index_.Readmit({object_id, suspect.block}, suspect.slot, keep)) {
      suspect.slot = kReadmitted;
      EngineCounters::Add(counters_.recovered_blocks);
    }
  }
}

SectorSet CrashRecheck::Compare(uint64_t object_id, int origin_fd, const Suspect& suspect) {
  const uint32_t block_size = slots_.block_size();
  const uint32_t sectors = block_size / kSectorSize;
  SectorSet keep(sectors);
  std::vector<char> origin(block_size, 0);
  std::vector<char> cached(block_size);
  std::vector<uint32_t> sums(sectors);
  const int64_t origin_bytes = ReadFully(
      io_, origin_fd, static_cast<off_t>(suspect.block * block_size), std::span<char>(origin));
  std::vector<IoRequest> reads = {
      IoRequest::Read(slots_.fd(), slots_.OffsetOf(suspect.slot), std::span<char>(cached)),
      IoRequest::Read(checksums_.fd(), checksums_.OffsetOf(suspect.slot, 0),
                      {reinterpret_cast<char*>(sums.data()), sums.size() * kChecksumSize})};
  if (origin_bytes <= 0 || !io_.Submit(reads).ok() ||
      reads[0].result != static_cast<int64_t>(reads[0].length) ||
      reads[1].result != static_cast<int64_t>(reads[1].length)) {
    return keep;
  }
  // Sectors past origin's end are not origin's; the last one is compared
  // zero-padded, as its slot holds it.
  const BlockKey key{object_id, suspect.block};
  for (uint32_t sector = 0; sector < sectors; ++sector) {
    const size_t at = size_t{sector} * kSectorSize;
    if (!suspect.valid.Test(sector) || static_cast<int64_t>(at) >= origin_bytes) continue;
    if (std::memcmp(origin.data() + at, cached.data() + at, kSectorSize) == 0 &&
        SectorChecksum(key, sector, cached.data() + at) == sums[sector]) {
      keep.Set(sector, 1);
    }
  }
  return keep;
}

void CrashRecheck::ReleaseLocked(Job& job) {
  std::vector<uint64_t> slots;
  for (Suspect& suspect : job.suspects) {
    if (suspect.slot != kReadmitted) slots.push_back(suspect.slot);
    suspect.slot = kReadmitted;
  }
  if (!slots.empty()) index_.ReleaseQuarantined(slots);
}

}  // namespace wtcachefs
