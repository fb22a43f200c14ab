// SPDX-License-Identifier: Apache-2.0
// CacheEngine: start, recovery, group commit, shutdown, statistics. The data
// paths of an open file are in cached_file.cc.
#include "wtcachefs/cache_engine.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <optional>
#include <set>

#include "cache_dir/cache_health.h"
#include "cache_dir/preallocated_file.h"
#include "engine/space_guard.h"
#include "engine/cached_file.h"
#include "engine/engine_state.h"
#include "engine/racy_fingerprint.h"
#include "engine/stored_device_numbers.h"
#include "wtcachefs/origin_stat.h"

namespace wtcachefs {

EngineStats EngineCounters::Snapshot() const {
  EngineStats s;
  s.read_hits = read_hits.load();
  s.read_partial_hits = read_partial_hits.load();
  s.read_misses = read_misses.load();
  s.write_hits = write_hits.load();
  s.write_misses = write_misses.load();
  s.promotions = promotions.load();
  s.bypasses = bypasses.load();
  s.invalidations = invalidations.load();
  s.corrupt_blocks = corrupt_blocks.load();
  s.racy_drops = racy_drops.load();
  s.deleted_files = deleted_files.load();
  s.recovered_blocks = recovered_blocks.load();
  s.cache_read_errors = cache_read_errors.load();
  s.cache_write_errors = cache_write_errors.load();
  s.origin_read_errors = origin_read_errors.load();
  s.origin_write_errors = origin_write_errors.load();
  s.bytes_read_from_cache = bytes_read_from_cache.load();
  s.bytes_read_from_origin = bytes_read_from_origin.load();
  return s;
}

uint64_t* CounterByName(EngineStats& s, std::string_view name) {
  uint64_t* found = nullptr;
  ForEachCounter(s, [&](std::string_view n, uint64_t& value) {
    if (n == name) found = &value;
  });
  return found;
}

EngineState::State(const CacheConfig& c, IoBackend& backend, std::unique_ptr<CacheDirectory> dir,
                   SlotFile slot_file, ChecksumFile checksum_file)
    : config_(c),
      io_(backend),
      directory_(std::move(dir)),
      slots_(std::move(slot_file)),
      checksums_(std::move(checksum_file)),
      index_(slots_.slot_count(), slots_.block_size() / kSectorSize, c.policy, c.promote_after),
      objects_(directory_->store(), c.resident_files),
      sweep_(directory_->store(), objects_, c.origin_ino != 0 ? c.origin_path : "", c.origin_dev),
      curve_(MissRatioCurve::Config{.policy = c.policy,
                                    .cache_blocks = slots_.slot_count(),
                                    .block_size = slots_.block_size(),
                                    .promote_after = c.promote_after,
                                    .enabled = c.miss_ratio_curve,
                                    .clock = c.clock}),
      intents_(directory_->store(),
               std::chrono::duration_cast<std::chrono::nanoseconds>(c.write_lease).count()),
      rechecks_(index_, io_, slots_, checksums_, counters_),
      history_(*c.clock),
      sequential_cutoff_(c.sequential_cutoff),
      write_allocate_(c.write_allocate) {
  index_.set_commit_listener([this] { RequestFlush(); });
}

void EngineState::RequestFlush() {
  flush_requested_ = true;
  flusher_wake_.notify_all();
}

EngineState::~State() { StopFlusher(); }

void EngineState::set_degraded_listener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(degraded_listener_mutex_);
  degraded_listener_ = std::move(listener);
}

void EngineState::set_external_change_listener(
    std::function<void(uint64_t dev, uint64_t ino)> listener) {
  std::lock_guard lock(external_change_listener_mutex_);
  external_change_listener_ = std::move(listener);
}

void EngineState::set_privilege_drop_listener(
    std::function<void(uint64_t dev, uint64_t ino)> listener) {
  std::lock_guard lock(privilege_drop_listener_mutex_);
  privilege_drop_listener_ = std::move(listener);
}

void EngineState::set_corruption_listener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(corruption_mutex_);
  corruption_listener_ = std::move(listener);
}

void EngineState::StartSpaceGuard() {
  space_guard_ = std::make_unique<SpaceGuard>(index_, slots_);
  space_guard_->Start();
}

void EngineState::CacheError(std::atomic<uint64_t>& counter) {
  EngineCounters::Add(counter);
  bool past_limit;
  {
    std::lock_guard lock(cache_errors_mutex_);
    const Clock::TimePoint now = config_.clock->Now();
    const double half_lives = std::chrono::duration<double>(now - last_cache_error_) /
                              std::chrono::duration<double>(
                                  std::max(config_.error_half_life, std::chrono::milliseconds(1)));
    cache_error_weight_ = cache_error_weight_ * std::exp2(-half_lives) + 1;
    last_cache_error_ = now;
    past_limit = cache_error_weight_ >= config_.error_limit - 1e-9;
  }
  if (past_limit) {
    Degrade(std::to_string(config_.error_limit) + " cache IO errors in quick succession");
  }
}

void EngineState::CacheWriteFailed(int64_t result) {
  if (result == -ENOSPC && config_.space == CacheSpace::kElastic) {
    EngineCounters::Add(counters_.bypasses);
  } else {
    CacheError(counters_.cache_write_errors);
  }
}

void EngineState::Degrade(const std::string& reason) {
  std::lock_guard lock(degraded_listener_mutex_);
  degraded_for_good_ = true;
  EnterDegradedLocked(reason);
}

void EngineState::DegradeWhileMetadataFails(const std::string& reason) {
  std::lock_guard lock(degraded_listener_mutex_);
  metadata_blocked_ = true;
  EnterDegradedLocked(reason);
}

void EngineState::RecordHolderState(HolderState state) {
  std::lock_guard lock(degraded_listener_mutex_);
  if (!degraded_.load()) directory_->RecordHolderState(state);
}

void EngineState::EnterDegradedLocked(const std::string& reason) {
  if (degraded_.load()) return;
  // Durable before the first write that marks no intent (W4).
  directory_->RecordHolderState(HolderState::kDegraded);
  degraded_ = true;
  degraded_reason_ = reason;
  if (degraded_listener_) degraded_listener_(reason);
}

void EngineState::RetryMetadataCommit() {
  // RocksDB may be recovering by itself (Resume() is then busy): the commit
  // tells.
  (void)directory_->store().Resume();
  if (!Flush().ok()) return;
  std::lock_guard lock(degraded_listener_mutex_);
  metadata_blocked_ = false;
  if (degraded_for_good_) return;
  // What the degraded writes changed is durable now (the commit above).
  directory_->RecordHolderState(HolderState::kServing);
  degraded_ = false;
  degraded_reason_.clear();
  if (recovered_listener_) recovered_listener_();
}

void EngineState::set_recovered_listener(std::function<void()> listener) {
  std::lock_guard lock(degraded_listener_mutex_);
  recovered_listener_ = std::move(listener);
}

std::string EngineState::degraded_reason() const {
  std::lock_guard lock(degraded_listener_mutex_);
  return degraded_reason_;
}

void EngineState::CorruptBlock(uint64_t object_id, uint64_t block, int origin_fd) {
  // A cache device that returns wrong bytes is failing like one that returns
  // errors (DESIGN W3): repeated, it degrades the mount to origin only.
  CacheError(counters_.corrupt_blocks);
  EngineCounters::Add(counters_.invalidations);
  std::lock_guard lock(corruption_mutex_);
  if (!corruption_reported_.insert(object_id).second || !corruption_listener_) return;
  // The origin file's path, for the log (best effort: it may have been renamed).
  char path[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(origin_fd);
  const ssize_t n = ::readlink(link.c_str(), path, sizeof(path) - 1);
  const std::string name = n > 0 ? std::string(path, static_cast<size_t>(n))
                                 : "object " + std::to_string(object_id);
  corruption_listener_("cached data of '" + name + "' (block " + std::to_string(block) +
                       ", and possibly others) failed its checksum in '" + config_.cache_dir +
                       "': served from the origin and dropped from the cache; check the "
                       "cache device (reported once per file)");
}

void EngineState::InvalidateRange(uint64_t object_id, uint64_t offset, uint64_t length) {
  for (const BlockPiece& piece : SplitIntoBlocks(offset, length, slots_.block_size())) {
    if (index_.Invalidate({object_id, piece.block}, piece.first_sector(),
                          piece.touched_sectors())) {
      EngineCounters::Add(counters_.invalidations);
    }
  }
}

void EngineState::DropBlocksFrom(uint64_t object_id, uint64_t first_block,
                                 uint64_t end_block_hint) {
  // Dropping key by key is cheap for a short tail; a scan is cheaper for a long one.
  constexpr uint64_t kScanThreshold = 4096;
  uint64_t dropped = 0;
  if (end_block_hint > first_block && end_block_hint - first_block < kScanThreshold) {
    for (uint64_t block = first_block; block < end_block_hint; ++block) {
      dropped += index_.Drop({object_id, block}) ? 1 : 0;
    }
  } else {
    dropped = index_.DropFrom(object_id, first_block);
  }
  EngineCounters::Add(counters_.invalidations, dropped);
}

void EngineState::FileOpened(const std::shared_ptr<CachedObject>& object) {
  std::lock_guard guard(object->fingerprint_mutex);
  ++object->open_files;
}

void EngineState::FileClosed(const std::shared_ptr<CachedObject>& object, int fd) {
  {
    std::lock_guard guard(object->fingerprint_mutex);
    if (--object->open_files > 0 || !object->unlinked || object->forgotten) return;
    struct stat st;
    // A link made since (through another name) keeps it alive.
    if (::fstat(fd, &st) != 0 || st.st_nlink > 0) {
      object->unlinked = false;
      return;
    }
    object->forgotten = true;
  }
  Forget(object);
}

void EngineState::Unlinked(const std::shared_ptr<CachedObject>& object) {
  {
    std::lock_guard guard(object->fingerprint_mutex);
    object->unlinked = true;
    if (object->open_files > 0 || object->forgotten) return;
    object->forgotten = true;
  }
  Forget(object);
}

void EngineState::Forget(const std::shared_ptr<CachedObject>& object) {
  // No change of its data is in flight; none can start (it has no name and no
  // open file left).
  std::lock_guard change(object->change_gate);
  rechecks_.Discard(object->id);
  const uint64_t block_size = slots_.block_size();
  uint64_t size = object->size.load();
  {
    std::lock_guard guard(object->fingerprint_mutex);
    size = std::max(size, object->fingerprint.size);
  }
  DropBlocksFrom(object->id, 0, (size + block_size - 1) / block_size + 1);
  objects_.Erase(object);
  EngineCounters::Add(counters_.deleted_files);
  std::lock_guard lock(corruption_mutex_);
  corruption_reported_.erase(object->id);
}

Status EngineState::Load(uint64_t intact_slots) {
  MetaStore& store = directory_->store();
  if (Status s = objects_.Open(); !s.ok()) return s;
  if (Status s = intents_.Load(); !s.ok()) return s;
  // A mapping of no file on record (its record deleted, W8) is dropped, so
  // that its id can be given again. Mappings come in key order, object ids
  // ascending: one lookup per object.
  uint64_t last_looked_up = 0;
  bool last_on_record = false;
  Status lookup_failed = Status::Ok();
  const auto on_record = [&](uint64_t object_id) {
    if (object_id == last_looked_up) return last_on_record;
    auto record = store.LoadFile(object_id);
    if (!record.ok() && lookup_failed.ok()) lookup_failed = record.status();
    last_looked_up = object_id;
    last_on_record = record.ok() && record.value().has_value();
    return last_on_record;
  };
  auto counters_loaded = store.LoadCounters();
  if (!counters_loaded.ok()) return counters_loaded.status();
  for (const auto& [name, value] : counters_loaded.value()) {
    if (uint64_t* counter = CounterByName(persisted_, name)) *counter = value;
  }
  // Mappings in a region the intent log names may point at data that origin
  // never got (or that the cache lost): drop them. So are mappings that do not
  // fit the slot file (a damaged store).
  MetaBatch recovery;
  const uint32_t sectors = index_.sectors_per_block();
  // Restored in batches: the index fetches the memory of a batch ahead.
  std::vector<BlockMapping> batch;
  const auto restore_batch = [&] {
    index_.RestoreBatch(
        batch, [&](const BlockMapping& m) { recovery.DeleteMapping(m.object_id, m.block); });
    batch.clear();
  };
  std::vector<BlockMapping> suspects;
  Status scanned = store.ForEachMapping(sectors, [&](BlockMapping&& m) {
    if (m.slot >= intact_slots || !on_record(m.object_id)) {
      recovery.DeleteMapping(m.object_id, m.block);
      return;
    }
    if (intents_.IsMarked(m.object_id, m.block)) {
      recovery.DeleteMapping(m.object_id, m.block);
      suspects.push_back(std::move(m));
      return;
    }
    batch.push_back(std::move(m));
    if (batch.size() == BlockIndex::kRestoreBatch) restore_batch();
  });
  restore_batch();
  index_.FinishRestore();
  if (!scanned.ok()) return scanned;
  if (!lookup_failed.ok()) return lookup_failed;
  index_.TakeChanges();  // restored state is already durable
  // Their slots are held, not freed: a comparison with origin may map them
  // again (their deletion is durable first, below).
  for (BlockMapping& m : suspects) {
    SectorSet valid = SectorSet::FromBytes(m.valid_sectors, sectors);
    if (valid.size() != sectors || valid.None()) continue;
    (void)rechecks_.Hold(m.object_id, {.block = m.block, .slot = m.slot, .valid = std::move(valid)});
  }
  // Files the intent log names were being written: their first comparison may
  // take a change of origin within the lease for those writes, unless the
  // previous mount was degraded (its writes may have marked no intent).
  if (const std::optional<int64_t> lease = intents_.LoadedLease();
      lease && !directory_->previous_mount_degraded()) {
    std::set<uint64_t> written;
    for (const auto& [object_id, region] : intents_.Marks()) written.insert(object_id);
    for (const uint64_t object_id : written) {
      // Resident from here until its first comparison (the bound pins it).
      auto object = objects_.FindById(object_id);
      if (!object.ok()) return object.status();
      if (!object.value()) continue;
      std::lock_guard guard(object.value()->fingerprint_mutex);
      object.value()->adopt_changes_until_ns = *lease;
    }
  }
  const auto marks = intents_.ClearAllInto(recovery);
  if (recovery.empty()) return Status::Ok();
  if (Status s = store.Commit(recovery, /*sync=*/true); !s.ok()) return s;
  intents_.Forget(marks);
  return Status::Ok();
}

Status EngineState::Flush(const CachedObject* clear_intents_of, bool clear_all_intents) {
  std::lock_guard flush(flush_mutex_);
  // Ids of deleted files: a block of theirs that Forget() missed is unmapped
  // here, so that they are given again only once no mapping has them.
  const std::vector<uint64_t> verifying = [&] {
    std::vector<uint64_t> ids = objects_.TakeUnverified();
    std::sort(ids.begin(), ids.end());
    if (!ids.empty()) EngineCounters::Add(counters_.invalidations, index_.DropObjects(ids));
    return ids;
  }();
  BlockIndex::Changes changes = index_.TakeChanges();
  ObjectTable::Changes objects = objects_.TakeChanges();
  bool data_durable = true;
  if (!changes.blocks.empty()) {
    // The data a new mapping points at must be durable before the mapping is.
    // So must their checksums; both files are synced in one submission.
    std::vector<IoRequest> sync = {IoRequest::Sync(slots_.fd(), true),
                                   IoRequest::Sync(checksums_.fd(), true)};
    data_durable = io_.Submit(sync).ok() && sync[0].result == 0 && sync[1].result == 0;
    if (!data_durable) CacheError(counters_.cache_write_errors);
  }
  MetaBatch batch;
  for (const auto& block : changes.blocks) {
    if (block.mapping && data_durable) {
      batch.PutMapping(BlockMapping{block.key.object_id, block.key.block,
                                    block.mapping->first, block.mapping->second.ToBytes()});
    } else {
      batch.DeleteMapping(block.key.object_id, block.key.block);
      if (block.mapping) index_.Drop(block.key);  // not durable: not trusted
    }
  }
  objects.WriteTo(batch);
  // Changes through the view since the last commit: the daemon may go on
  // changing origin for a while yet.
  if (objects.has_records()) intents_.RenewLeaseInto(batch);
  const EngineStats totals = Stats();
  ForEachCounter(totals, [&](std::string_view name, uint64_t value) {
    batch.PutCounter(name, value);
  });
  std::vector<std::pair<uint64_t, uint64_t>> cleared;
  if (clear_all_intents) {
    cleared = intents_.ClearAllInto(batch);
  } else {
    if (clear_intents_of != nullptr) cleared = intents_.ClearInto(batch, clear_intents_of->id);
    // A dead file's writes matter no more, and its id may be given again.
    for (const uint64_t id : objects.dead_ids()) {
      const auto marks = intents_.ClearInto(batch, id);
      cleared.insert(cleared.end(), marks.begin(), marks.end());
    }
  }
  if (Status s = directory_->store().Commit(batch, /*sync=*/true); !s.ok()) {
    // The metadata store fails: serve from origin only until a commit
    // succeeds. What this one held waits for it; quarantined slots stay
    // quarantined (their unmapping is not durable).
    index_.ReturnChanges(std::move(changes));
    objects_.ReturnChanges(std::move(objects));
    objects_.ReturnUnverified(verifying);
    DegradeWhileMetadataFails("the metadata store cannot be written: " + s.message());
    return s;
  }
  index_.ReleaseQuarantined(changes.quarantined_slots);
  objects_.Committed(std::move(objects));
  objects_.FreeVerified(verifying);
  intents_.Forget(cleared);
  return Status::Ok();
}

void EngineState::StartFlusher() {
  open_files_.StartSweeping(config_.revalidate, *config_.clock,
                            [this](const std::shared_ptr<CachedObject>& object, int fd) {
                              RevalidateIfOlder(object, fd, 0);
                            });
  flusher_ = std::thread([this] {
    std::unique_lock lock(flusher_mutex_);
    while (!flusher_stop_) {
      flusher_wake_.wait_for(lock, std::chrono::milliseconds(config_.flush_interval_ms),
                             [this] { return flusher_stop_ || flush_requested_.load(); });
      if (flusher_stop_) break;
      flush_requested_ = false;
      lock.unlock();
      if (!degraded_ || metadata_blocked_) {
        if (auto fault = FindCacheDirectoryFault(
                config_.cache_dir,
                {{"slot file", directory_->slot_file_path(), slots_.fd()},
                 {"checksum file", directory_->checksum_file_path(), checksums_.fd()}})) {
          Degrade(*fault);
        }
      }
      if (space_guard_) space_guard_->BeforeCommit();
      if (metadata_blocked_) {
        RetryMetadataCommit();
      } else {
        (void)Flush();  // a failure degrades the engine; the next round retries
      }
      if (space_guard_) space_guard_->AfterCommit();
      SweepWhenDue();
      ReleaseFreeHeapWhenDue();
      history_.Record(Stats());
      lock.lock();
    }
  });
}

void EngineState::SweepWhenDue() {
  constexpr size_t kRecordsPerStep = 256;
  const auto now = std::chrono::steady_clock::now();
  if (config_.sweep_interval.count() == 0 || degraded_ || !sweep_.active() || now < next_sweep_) {
    return;
  }
  next_sweep_ = now + config_.sweep_interval;
  // A store that cannot be read now is read again at the next step.
  (void)sweep_.Step(kRecordsPerStep,
                    [this](const std::shared_ptr<CachedObject>& object) { Unlinked(object); });
}

void EngineState::ReleaseFreeHeapWhenDue() {
  constexpr std::chrono::seconds kInterval{5};
  const auto now = std::chrono::steady_clock::now();
  if (now < next_heap_release_) return;
  next_heap_release_ = now + kInterval;
#ifdef __GLIBC__
  (void)::malloc_trim(0);
#endif
}

void EngineState::StopFlusher() {
  rechecks_.Stop();
  open_files_.StopSweeping();
  {
    std::lock_guard lock(flusher_mutex_);
    flusher_stop_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

EngineStats EngineState::Stats() const {
  EngineStats live = counters_.Snapshot();
  EngineStats total = persisted_;
  ForEachCounter(live, [&](std::string_view name, uint64_t value) {
    *CounterByName(total, name) += value;
  });
  total.demotions += index_.demotions();
  total.bypasses += index_.full_bypasses();
  total.total_blocks = index_.slot_count();
  total.used_blocks = index_.mapped_blocks();
  total.index_memory_bytes = index_.memory_bytes();
  total.resident_files = objects_.resident();
  total.space_limit_blocks = index_.space_limit();
  total.degraded = degraded_.load();
  return total;
}

CacheEngine::CacheEngine(std::unique_ptr<State> state)
    : state_(std::move(state)),
      device_numbers_(std::make_unique<StoredDeviceNumbers>(state_->directory().store(),
                                                            state_->degraded_flag())) {}

CacheEngine::~CacheEngine() {
  if (!state_->closed()) (void)Close();
}

namespace {

// A reservation that does not fit is the request's fault (EFBIG), unlike a
// metadata store that cannot write on a full file system (ENOSPC).
Status TooBigIfNoSpace(const Status& s) {
  return s.error() == ENOSPC ? Status::Error(EFBIG, s.message()) : s;
}

}  // namespace

Result<std::unique_ptr<CacheEngine>> CacheEngine::Start(const CacheConfig& config,
                                                        IoBackend& io) {
  if (config.block_size != 0 && !IsValidBlockSize(config.block_size)) {
    return Status::Error(EINVAL, "block size " + std::to_string(config.block_size) +
                                     " is not a power of two between 4 KiB and 4 MiB");
  }
  CacheDirectoryRequest request;
  request.cache_dir = config.cache_dir;
  request.origin_dev = config.origin_dev;
  request.origin_ino = config.origin_ino;
  request.origin_path = config.origin_path;
  if (config.block_size != 0) request.block_size = config.block_size;
  request.cache_bytes = config.cache_bytes;
  request.max_slots = BlockIndex::kMaxSlots;
  request.reset = config.reset;
  request.resize = config.resize;
  request.lock.view = config.view;
  request.lock.wait_for_leaving_holder = config.lock_wait;
  request.lock.on_wait = config.on_lock_wait;
  auto directory = CacheDirectory::Open(request);
  if (!directory.ok()) return directory.status();
  const Superblock& sb = directory.value()->superblock();
  // Slots the file still holds: a slot file deleted or truncated behind the
  // cache's back has lost the data its mappings point at.
  struct stat slot_stat;
  const uint64_t intact_slots =
      ::stat(directory.value()->slot_file_path().c_str(), &slot_stat) == 0
          ? static_cast<uint64_t>(slot_stat.st_size) / sb.block_size
          : 0;
  if (intact_slots < std::min(sb.slot_count, directory.value()->previous_slot_count())) {
    directory.value()->AddWarning(
        "the cache slot file '" + directory.value()->slot_file_path() + "' was " +
        (intact_slots == 0 ? "missing" : "truncated") +
        ": the blocks it lost are dropped from the cache");
  }
  // Slots whose checksums the checksum file still holds: a block without its
  // checksums cannot be verified, so it is not served (a cache made before
  // wtcachefs kept checksums has none: it comes back cold).
  const uint32_t sectors_per_block = sb.block_size / kSectorSize;
  const std::string checksum_path = directory.value()->checksum_file_path();
  const uint64_t checksummed_slots =
      ::stat(checksum_path.c_str(), &slot_stat) == 0
          ? ChecksumFile::SlotsCovered(static_cast<uint64_t>(slot_stat.st_size),
                                       sectors_per_block)
          : 0;
  const uint64_t verifiable_slots = std::min(intact_slots, checksummed_slots);
  if (checksummed_slots < std::min(intact_slots, directory.value()->previous_slot_count())) {
    directory.value()->AddWarning(
        "the cache checksum file '" + checksum_path + "' was " +
        (checksummed_slots == 0 ? "missing" : "truncated") +
        ": cached blocks without checksums cannot be verified and are dropped from the cache");
  }
  const std::string slot_path = directory.value()->slot_file_path();
  if (config.space == CacheSpace::kReserved) {
    const uint64_t data_bytes = sb.slot_count * sb.block_size;
    const uint64_t bytes = data_bytes + sb.slot_count * sectors_per_block * kChecksumSize;
    // The room an existing reservation holds is its own: only a new one, or a
    // resize that grows one, needs free space (with the metadata store's room
    // beside it). A file system filled up beside an intact cache never keeps
    // its view from mounting.
    const bool reserved_already =
        AllocatedBytes(slot_path) + AllocatedBytes(checksum_path) >= bytes;
    if (!reserved_already) {
      if (Status s = CheckRoomToReserve(config.cache_dir, data_bytes,
                                        bytes + MetadataRoom(sb.slot_count),
                                        {slot_path, checksum_path});
          !s.ok()) {
        return TooBigIfNoSpace(s);
      }
    }
  }
  // A failure from here to RecordMount gives back what the files grew by.
  const FileExtent slots_before = FileExtent::Of(slot_path);
  const FileExtent checksums_before = FileExtent::Of(checksum_path);
  const auto undo = [&](Status failure) {
    slots_before.Restore(slot_path);
    checksums_before.Restore(checksum_path);
    return failure;
  };
  auto checksums =
      ChecksumFile::Open(checksum_path, sb.slot_count, sectors_per_block, config.space);
  if (!checksums.ok()) return undo(TooBigIfNoSpace(checksums.status()));
  auto slots = SlotFile::Open(slot_path, sb.slot_count, sb.block_size, config.space);
  if (!slots.ok()) return undo(TooBigIfNoSpace(slots.status()));
  if (Status s = directory.value()->RecordMount(); !s.ok()) return undo(s);
  auto state = std::make_unique<EngineState>(config, io, std::move(directory).value(),
                                             std::move(slots).value(),
                                             std::move(checksums).value());
  if (Status s = state->Load(verifiable_slots); !s.ok()) {
    if (s.error() != EUCLEAN || config.reset) return s;
    // A record that does not decode: the store cannot be trusted. Start afresh,
    // keeping the counters it loaded (they decoded, and only they are kept).
    const EngineStats counters = state->persisted();
    state.reset();
    CacheConfig fresh = config;
    fresh.reset = true;
    auto restarted = Start(fresh, io);
    if (restarted.ok()) {
      restarted.value()->state_->set_persisted(counters);  // the next commit records them
      restarted.value()->state_->directory().AddWarning(
          "cache metadata in '" + config.cache_dir + "' was damaged (" + s.message() +
          "): discarded it and started a new, empty cache");
    }
    return restarted;
  }
  // A cache made smaller: its mappings past the end are gone for good (Load
  // committed their removal), so the file may shrink.
  if (Status s = state->slots().TrimToSize(); !s.ok()) return s;
  if (Status s = state->checksums().TrimToSize(); !s.ok()) return s;
  // Every window starts at the mount at the latest: on a mount younger than a
  // window, the window holds everything this mount counted.
  state->history().Record(state->Stats());
  if (config.space == CacheSpace::kElastic) {
    state->StartSpaceGuard();
  }
  state->StartFlusher();
  return std::unique_ptr<CacheEngine>(new CacheEngine(std::move(state)));
}

void CacheEngine::MarkServing() { state_->RecordHolderState(HolderState::kServing); }

Status CacheEngine::Close() {
  if (state_->closed()) return Status::Ok();
  state_->set_closed();
  state_->RecordHolderState(HolderState::kLeaving);
  state_->StopFlusher();
  // Origin's data must be durable before the intents naming it are cleared: the
  // whole filesystem of an origin directory, the file or device of an image.
  UniqueFd origin(::open(state_->config().origin_path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat origin_stat;
  const bool synced = origin.valid() && ::fstat(origin.get(), &origin_stat) == 0 &&
                      (S_ISDIR(origin_stat.st_mode) ? ::syncfs(origin.get())
                                                    : ::fsync(origin.get())) == 0;
  if (!synced) {
    return Status::FromErrno("cannot sync origin '" + state_->config().origin_path +
                             "'; the intent log is kept for the next mount");
  }
  // The ids of files never cached are kept free for the next mount.
  state_->objects().DropUnrecorded();
  if (Status s = state_->Flush(nullptr, /*clear_all_intents=*/true); !s.ok()) return s;
  return state_->directory().MarkClean();
}

const std::vector<std::string>& CacheEngine::warnings() const {
  return state_->directory().warnings();
}

Result<std::unique_ptr<OpenFile>> CacheEngine::Open(UniqueFd origin_fd) {
  // Read before the stat: CheckAtOpen knows then whether a change ended after it.
  const uint64_t sequence = state_->objects().change_sequence();
  const int64_t taken_ns = OriginClockNs();
  struct stat st;
  if (const int error = state_->io().Stat(origin_fd.get(), &st)) {
    return Status::Error(error, "stat origin file");
  }
  auto looked_up = state_->objects().FindOrCreate(st);
  if (!looked_up.ok()) return looked_up.status();
  ObjectTable::Found found = std::move(looked_up).value();
  // A file new to the cache has nothing cached, but the kernel keeps no page
  // cache of it either: it may be a new file under a number the kernel knew.
  const bool unchanged =
      state_->CheckAtOpen(found.object, origin_fd.get(), st, taken_ns, sequence) &&
      !found.created;
  return std::unique_ptr<OpenFile>(
      new CachedFile(*state_, std::move(origin_fd), std::move(found.object), unchanged));
}

Status CacheEngine::Invalidate(int origin_fd) {
  if (origin_fd < 0) {
    EngineCounters::Add(state_->counters().invalidations, state_->index().DropAll());
    return Status::Ok();
  }
  struct stat st;
  if (const int error = state_->io().Stat(origin_fd, &st))
    return Status::Error(error, "stat origin file");
  // A file the cache never saw has nothing cached (and gets no record).
  auto found =
      state_->objects().Find(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  if (!found.ok()) return found.status();
  const std::shared_ptr<CachedObject> object = std::move(found).value();
  if (!object) return Status::Ok();
  const uint64_t block_size = state_->slots().block_size();
  const uint64_t size = std::max<uint64_t>(object->size.load(), static_cast<uint64_t>(st.st_size));
  state_->DropBlocksFrom(object->id, 0, (size + block_size - 1) / block_size);
  return Status::Ok();
}

Result<uint64_t> CacheEngine::Warm(int origin_fd, uint64_t offset, uint64_t length) {
  UniqueFd fd(::fcntl(origin_fd, F_DUPFD_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("duplicate origin fd");
  auto opened = Open(std::move(fd));
  if (!opened.ok()) return opened.status();
  return static_cast<CachedFile&>(*opened.value()).Warm(offset, length);
}

void CacheEngine::set_recovered_listener(std::function<void()> listener) {
  state_->set_recovered_listener(std::move(listener));
}

void CacheEngine::set_degraded_listener(std::function<void(const std::string&)> listener) {
  state_->set_degraded_listener(std::move(listener));
}

namespace {

// The object of the origin file at `fd` when it is a regular file or a block
// device the cache has a record of (st: its stat); null otherwise, and when
// the record cannot be read: a change then moves the file's ctime, and its
// next open drops its blocks.
std::shared_ptr<CachedObject> ObjectAt(ObjectTable& objects, int fd, struct stat* st) {
  if (::fstat(fd, st) != 0 || !(S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))) return nullptr;
  auto found = objects.Find(static_cast<uint64_t>(st->st_dev), static_cast<uint64_t>(st->st_ino));
  return found.ok() ? std::move(found).value() : nullptr;
}

// Runs `change` of `object`'s attributes, at `fd`, as a change of the view's own.
int ChangeOwn(EngineState& state, const std::shared_ptr<CachedObject>& object, int fd,
              const std::function<int()>& change) {
  bool guards_nothing;
  {
    // Nothing cached and not open: its fingerprint guards nothing but the
    // kernel's page cache of it, which its next open then drops.
    std::lock_guard guard(object->fingerprint_mutex);
    guards_nothing = !object->recorded && object->open_files == 0;
  }
  if (guards_nothing) return change();
  state.BeginChange(object, fd);
  const int result = change();
  state.EndChange(object, fd);
  return result;
}

}  // namespace

int CacheEngine::ChangeAttributes(int fd, const std::function<int()>& change) {
  // Only to find the object: (st_dev, st_ino) need no fresh answer from origin
  // (BeginChange takes one).
  struct stat st;
  const std::shared_ptr<CachedObject> object = ObjectAt(state_->objects(), fd, &st);
  return object ? ChangeOwn(*state_, object, fd, change) : change();
}

int CacheEngine::RemoveLink(int fd, const std::function<int()>& remove) {
  struct stat st;
  const std::shared_ptr<CachedObject> object = ObjectAt(state_->objects(), fd, &st);
  if (!object) return remove();
  const int result = ChangeOwn(*state_, object, fd, remove);
  // Its last link went (a link made meanwhile elsewhere would only cost its
  // cache).
  if (result == 0 && S_ISREG(st.st_mode) && st.st_nlink <= 1) state_->Unlinked(object);
  return result;
}

void CacheEngine::Unlinked(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 0) return;
  auto object =
      state_->objects().Find(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  if (object.ok() && object.value()) state_->Unlinked(object.value());
}

void CacheEngine::set_external_change_listener(
    std::function<void(uint64_t dev, uint64_t ino)> listener) {
  state_->set_external_change_listener(std::move(listener));
}

void CacheEngine::set_privilege_drop_listener(
    std::function<void(uint64_t dev, uint64_t ino)> listener) {
  state_->set_privilege_drop_listener(std::move(listener));
}

void CacheEngine::set_corruption_listener(std::function<void(const std::string&)> listener) {
  state_->set_corruption_listener(std::move(listener));
}

void CacheEngine::SetSequentialCutoff(uint64_t bytes) { state_->set_sequential_cutoff(bytes); }
void CacheEngine::SetWriteAllocate(bool allocate) { state_->set_write_allocate(allocate); }
void CacheEngine::SetPromoteAfter(uint32_t misses) {
  state_->index().SetPromoteAfter(misses);
  state_->curve().SetPromoteAfter(misses);
}

MrcSnapshot CacheEngine::miss_ratio_curve() const { return state_->curve().Snapshot(); }

void CacheEngine::ResetMissRatioCurve() { state_->curve().Reset(); }

EngineStats CacheEngine::stats() const { return state_->Stats(); }

std::string CacheEngine::degraded_reason() const { return state_->degraded_reason(); }

EngineStats CacheEngine::recent_stats(const EngineStats& now, std::chrono::seconds window) const {
  return state_->history().Delta(now, window);
}

int CacheEngine::slot_fd() const { return state_->slots().fd(); }

int CacheEngine::checksum_fd() const { return state_->checksums().fd(); }

uint32_t CacheEngine::block_size() const { return state_->slots().block_size(); }

}  // namespace wtcachefs
