// CacheEngine: engine state, opening files, statistics. The data paths of an open
// file are in cached_file.cc.
#include "wtcachefs/cache_engine.h"

#include <sys/stat.h>

#include <cerrno>

#include "engine/cached_file.h"
#include "engine/engine_state.h"

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
  s.cache_read_errors = cache_read_errors.load();
  s.cache_write_errors = cache_write_errors.load();
  s.origin_read_errors = origin_read_errors.load();
  s.origin_write_errors = origin_write_errors.load();
  s.bytes_read_from_cache = bytes_read_from_cache.load();
  s.bytes_read_from_origin = bytes_read_from_origin.load();
  return s;
}

void EngineState::CacheError(std::atomic<uint64_t>& counter) {
  EngineCounters::Add(counter);
  if (cache_errors.fetch_add(1) + 1 >= config.error_limit) degraded = true;
}

void EngineState::InvalidateRange(uint64_t object_id, uint64_t offset, uint64_t length) {
  for (const BlockPiece& piece : SplitIntoBlocks(offset, length, config.block_size)) {
    if (index.Invalidate({object_id, piece.block}, piece.first_sector(),
                         piece.touched_sectors())) {
      EngineCounters::Add(counters.invalidations);
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
      dropped += index.Drop({object_id, block}) ? 1 : 0;
    }
  } else {
    dropped = index.DropFrom(object_id, first_block);
  }
  EngineCounters::Add(counters.invalidations, dropped);
}

CacheEngine::CacheEngine(std::unique_ptr<State> state) : state_(std::move(state)) {}
CacheEngine::~CacheEngine() = default;

Result<std::unique_ptr<CacheEngine>> CacheEngine::Create(const CacheConfig& config,
                                                         IoBackend& io) {
  if (!IsValidBlockSize(config.block_size)) {
    return Status::Error(EINVAL, "block size " + std::to_string(config.block_size) +
                                     " is not a power of two between 4 KiB and 4 MiB");
  }
  const uint64_t slot_count = config.cache_bytes / config.block_size;
  if (slot_count == 0) {
    return Status::Error(EINVAL, "cache size " + std::to_string(config.cache_bytes) +
                                     " is smaller than one block of " +
                                     std::to_string(config.block_size) + " bytes");
  }
  auto slots = SlotFile::Open(config.cache_dir + "/slots", slot_count, config.block_size);
  if (!slots.ok()) return slots.status();
  auto state = std::make_unique<EngineState>(config, io, std::move(slots).value());
  return std::unique_ptr<CacheEngine>(new CacheEngine(std::move(state)));
}

Result<std::unique_ptr<OpenFile>> CacheEngine::Open(UniqueFd origin_fd) {
  struct stat st;
  if (::fstat(origin_fd.get(), &st) != 0) return Status::FromErrno("stat origin file");
  ObjectTable::Opened opened = state_->objects.Open(st);
  if (!opened.unchanged && !opened.created && opened.previous_size > 0) {
    // Changed behind the mount: nothing cached for it may be served.
    const uint64_t block_size = state_->config.block_size;
    state_->DropBlocksFrom(opened.object->id, 0,
                           (opened.previous_size + block_size - 1) / block_size);
  }
  return std::unique_ptr<OpenFile>(
      new CachedFile(*state_, std::move(origin_fd), std::move(opened.object), opened.unchanged));
}

EngineStats CacheEngine::stats() const {
  EngineStats s = state_->counters.Snapshot();
  s.total_blocks = state_->index.slot_count();
  s.used_blocks = state_->index.mapped_blocks();
  s.degraded = state_->degraded.load();
  return s;
}

int CacheEngine::slot_fd() const { return state_->slots.fd(); }

}  // namespace wtcachefs
