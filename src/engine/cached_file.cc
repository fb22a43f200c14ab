// SPDX-License-Identifier: Apache-2.0
#include "engine/cached_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "wtcachefs/origin_stat.h"

namespace wtcachefs {
namespace {

// One block's part of a read.
struct ReadPart {
  BlockPiece piece;
  std::optional<PinnedBlock> hit;        // served from this pinned slot
  std::optional<PinnedBlock> promotion;  // miss being copied into this slot
  std::vector<char> fetched;             // a miss: origin bytes of the touched sectors
  // A hit not aligned to sectors: its whole sectors, read for verification.
  std::vector<char> bounce;
  // A promotion: the checksums of the sectors it copies.
  std::vector<uint32_t> checksums;
  // A hit: its stored checksums are at `run_offset` in checksum run `run`.
  size_t run = 0;
  size_t run_offset = 0;
  size_t request = 0;                    // index in the first batch
  size_t request_offset = 0;             // a hit: where its bytes start in that request
  bool cached = false;                   // planned as a hit (`hit` goes once read)
  bool fallback = false;                 // hit failed: re-read from origin
};

// A change made through the view to the origin object, from before it reaches
// origin until after origin completed it (EngineState::BeginChange/EndChange).
class OriginChange {
 public:
  OriginChange(EngineState& engine, const std::shared_ptr<CachedObject>& object, int fd)
      : engine_(engine), object_(object), fd_(fd) {
    engine_.BeginChange(object_, fd_);
  }
  // Ends a change of data that succeeded: `caller` loses its privilege bits
  // (EngineState::EndChange). An error of clearing them is the change's.
  Status Succeeded(const ChangeCaller& caller) {
    ended_ = true;
    const int error = engine_.EndChange(object_, fd_, &caller);
    return error == 0 ? Status::Ok() : Status::Error(error, "clear setuid/setgid of origin file");
  }
  ~OriginChange() {
    if (!ended_) engine_.EndChange(object_, fd_);
  }
  OriginChange(const OriginChange&) = delete;
  OriginChange& operator=(const OriginChange&) = delete;

 private:
  EngineState& engine_;
  const std::shared_ptr<CachedObject>& object_;
  const int fd_;
  bool ended_ = false;
};

// Stored checksums of hits that lie back to back in the checksum file (blocks
// of a sequential read usually sit in consecutive slots), read by one request.
struct ChecksumRun {
  uint64_t first;  // index of the first sector in the checksum file
  uint64_t count = 0;
  std::vector<uint32_t> sums;
  size_t request = 0;  // index in the first batch
};

std::span<char> BytesOf(std::vector<uint32_t>& checksums) {
  return {reinterpret_cast<char*>(checksums.data()), checksums.size() * kChecksumSize};
}
std::span<const char> BytesOf(const std::vector<uint32_t>& checksums) {
  return {reinterpret_cast<const char*>(checksums.data()), checksums.size() * kChecksumSize};
}

}  // namespace

Result<size_t> CachedFile::ReadOrigin(off_t offset, std::span<char> out) {
  std::vector<IoRequest> batch = {IoRequest::Read(fd_.get(), offset, out)};
  if (Status s = engine_.io().Submit(batch); !s.ok()) return s;
  if (batch[0].result < 0) {
    EngineCounters::Add(engine_.counters().origin_read_errors);
    return Status::Error(static_cast<int>(-batch[0].result), "read origin");
  }
  EngineCounters::Add(engine_.counters().bytes_read_from_origin,
                      static_cast<uint64_t>(batch[0].result));
  return static_cast<size_t>(batch[0].result);
}

bool CachedFile::PastSequentialCutoff(uint64_t offset, uint64_t length) {
  const uint64_t cutoff = engine_.sequential_cutoff();
  if (cutoff == 0) return false;
  // Requests of one stream may arrive slightly out of order (the kernel's
  // readahead is served by several threads): "near" is within 128 KiB.
  constexpr uint64_t kNear = 128 << 10;
  std::lock_guard lock(stream_mutex_);
  const bool continues = offset + kNear >= stream_end_ && offset <= stream_end_ + kNear;
  stream_bytes_ = continues ? stream_bytes_ + length : length;
  stream_end_ = std::max(offset + length, continues ? stream_end_ : 0);
  return stream_bytes_ > cutoff;
}

// One read through the cache: the stages Read() runs in a row, and
// ReadAsync() across its two IO completions.
struct CachedFile::ReadOp {
  ReadOp(std::shared_ptr<CachedObject> read, std::span<char> into)
      : object(std::move(read)), out(into) {}

  const std::shared_ptr<CachedObject> object;  // kept alive until the end
  std::span<char> out;  // the caller's; its first `length` bytes are the read's
  size_t length = 0;
  std::vector<ReadPart> parts;
  // First batch: hits from slots with their checksums, misses from origin.
  std::vector<IoRequest> first;
  std::vector<ChecksumRun> runs;
  // Second batch: promotion writes and origin re-reads of failed hits.
  std::vector<IoRequest> second;
  std::vector<ReadPart*> second_owner;
  int origin_error = 0;
  size_t served = 0;  // shortened if origin turns out shorter than the size
  bool sequential = false;  // past the sequential cutoff: misses not promoted
};

Result<size_t> CachedFile::Read(off_t offset, std::span<char> out) {
  engine_.Revalidate(object_, fd_.get());
  return *ReadRevalidated(offset, out, /*cached_only=*/false);
}

std::optional<Result<size_t>> CachedFile::ReadIfCached(off_t offset, std::span<char> out) {
  if (engine_.RevalidationDue(*object_)) return std::nullopt;
  return ReadRevalidated(offset, out, /*cached_only=*/true);
}

std::optional<Result<size_t>> CachedFile::ReadRevalidated(off_t offset, std::span<char> out,
                                                          bool cached_only) {
  const uint64_t size = object_->size.load();
  if (offset < 0) return Status::Error(EINVAL, "negative read offset");
  if (static_cast<uint64_t>(offset) >= size || out.empty()) return size_t{0};
  if (engine_.degraded()) {
    if (cached_only) return std::nullopt;
    return ReadOrigin(offset, out.first(std::min<uint64_t>(
                                  out.size(), size - static_cast<uint64_t>(offset))));
  }
  ReadOp op(object_, out);
  if (!PlanRead(op, offset, size, cached_only ? Waits::kNone : Waits::kAny)) return std::nullopt;
  if (Status s = engine_.io().Submit(op.first); !s.ok()) {
    AbandonRead(op);
    return s;
  }
  if (cached_only) {
    const auto not_in_memory = [](const IoRequest& r) { return r.result == -EAGAIN; };
    if (std::any_of(op.first.begin(), op.first.end(), not_in_memory)) {
      AbandonRead(op);
      return std::nullopt;
    }
    // Sure to be served: the policy hears of the hits now.
    std::vector<uint32_t> slots;
    for (const ReadPart& part : op.parts) slots.push_back(static_cast<uint32_t>(part.hit->slot));
    engine_.index().Touch(slots);
  }
  CheckFirstBatch(op);
  Status second = Status::Ok();
  if (!op.second.empty() && op.origin_error == 0) second = engine_.io().Submit(op.second);
  return FinishRead(op, second);
}

bool CachedFile::ReadAsync(off_t offset, std::span<char> out,
                           std::function<void(Result<size_t>)> done) {
  const uint64_t size = object_->size.load();
  if (offset < 0 || static_cast<uint64_t>(offset) >= size || out.empty() || engine_.degraded() ||
      engine_.RevalidationDue(*object_)) {
    return false;  // nothing to wait for, or the waiting kind: Read() serves it
  }
  auto op = std::make_shared<ReadOp>(object_, out);
  if (!PlanRead(*op, offset, size, Waits::kIo)) return false;
  const auto finish = [this, op, done](const Status& second) {
    done(FinishRead(*op, second));
  };
  const Status submitted = engine_.io().SubmitAsync(op->first, [this, op, finish] {
    CheckFirstBatch(*op);
    if (op->second.empty() || op->origin_error != 0) {
      finish(Status::Ok());
      return;
    }
    if (Status s = engine_.io().SubmitAsync(op->second, [finish] { finish(Status::Ok()); });
        !s.ok()) {
      finish(s);
    }
  });
  if (!submitted.ok()) {
    AbandonRead(*op);
    done(submitted);
  }
  return true;
}

bool CachedFile::PlanRead(ReadOp& op, off_t offset, uint64_t size, Waits waits) {
  op.length = std::min<uint64_t>(op.out.size(), size - static_cast<uint64_t>(offset));
  op.served = op.length;
  std::span<char> out = op.out;
  const uint32_t block_size = engine_.slots().block_size();
  const int slot_fd = engine_.slots().fd();
  for (const BlockPiece& piece : SplitIntoBlocks(offset, op.length, block_size)) {
    op.parts.push_back(ReadPart{.piece = piece, .hit = {}, .promotion = {}, .fetched = {},
                                .bounce = {}, .checksums = {}, .run = 0, .run_offset = 0});
  }

  // Hits are pinned first; then room is made for the misses' promotions (a
  // full cache evicts, and commits when only that frees slots, rather than
  // leave a scan's blocks uncached).
  const bool cached_only = waits == Waits::kNone;
  size_t misses = 0;
  for (ReadPart& part : op.parts) {
    const BlockPiece& p = part.piece;
    // A read that may still give up tells the policy of its hits only once
    // it is sure to be served.
    part.hit = engine_.index().PinForRead(
        {object_->id, p.block},
        waits == Waits::kAny ? BlockIndex::PolicyHit::kNow : BlockIndex::PolicyHit::kLater);
    if (part.hit && !part.hit->valid.All(p.first_sector(), p.touched_sectors())) {
      engine_.index().Unpin(part.hit->slot);
      part.hit.reset();
    }
    if (part.hit) {
      part.cached = true;
    } else {
      ++misses;
    }
  }
  if (cached_only && misses > 0) {
    AbandonRead(op);
    return false;
  }
  const StreamState stream_before = Stream();
  const bool sequential =
      !warming_ && PastSequentialCutoff(static_cast<uint64_t>(offset), op.length);
  op.sequential = sequential;
  if (misses > 0 && !sequential && engine_.index().PrepareForAllocations(misses)) {
    if (waits == Waits::kIo) {
      // Room takes a group commit, which waits for the metadata store: the
      // read is served where waiting is allowed (Read()), so that a scan's
      // blocks are cached as there. Read() counts it in the stream again.
      SetStream(stream_before);
      AbandonRead(op);
      return false;
    }
    (void)engine_.Flush();  // a failure degrades the engine; the read goes on
  }
  if (waits == Waits::kIo) {
    std::vector<uint32_t> slots;
    for (const ReadPart& part : op.parts) {
      if (part.hit) slots.push_back(static_cast<uint32_t>(part.hit->slot));
    }
    engine_.index().Touch(slots);
  }

  std::vector<IoRequest>& first = op.first;
  first.reserve(2 * op.parts.size());
  std::vector<ChecksumRun>& runs = op.runs;
  const uint32_t sectors_per_block = engine_.index().sectors_per_block();
  bool hits_in_last_request = false;  // the last request reads aligned hits only
  for (ReadPart& part : op.parts) {
    const BlockPiece& p = part.piece;
    const BlockKey key{object_->id, p.block};
    part.request = first.size();
    if (part.hit) {
      // Checksums cover whole sectors: a hit not aligned to them reads its
      // sectors whole into a bounce buffer; an aligned one lands in place.
      const uint32_t sectors = p.touched_sectors();
      const bool aligned = p.begin % kSectorSize == 0 && p.end % kSectorSize == 0;
      if (!aligned) part.bounce.resize(size_t{sectors} * kSectorSize);
      const off_t slot_offset =
          engine_.slots().OffsetOf(part.hit->slot) +
          static_cast<off_t>(aligned ? p.begin : p.first_sector() * kSectorSize);
      // Aligned hits in consecutive slots (a file cached in order) are one read:
      // a plain call the kernel reads ahead for, not a ring request per block.
      if (aligned && hits_in_last_request &&
          first.back().offset + static_cast<off_t>(first.back().length) == slot_offset &&
          first.back().buffer + first.back().length == out.data() + p.buffer_offset) {
        part.request = first.size() - 1;
        part.request_offset = first.back().length;
        first.back().length += p.length();
      } else {
        first.push_back(IoRequest::Read(
            slot_fd, slot_offset,
            aligned ? out.subspan(p.buffer_offset, p.length()) : std::span<char>(part.bounce)));
        hits_in_last_request = aligned;
      }
      const uint64_t first_sum = part.hit->slot * sectors_per_block + p.first_sector();
      if (runs.empty() || runs.back().first + runs.back().count != first_sum) {
        runs.push_back(ChecksumRun{.first = first_sum, .count = 0, .sums = {}, .request = 0});
      }
      part.run = runs.size() - 1;
      part.run_offset = runs.back().count;
      runs.back().count += sectors;
      continue;
    }
    hits_in_last_request = false;
    if (sequential) {
      EngineCounters::Add(engine_.counters().bypasses);
    } else {
      RecordObject();
      part.promotion = engine_.index().BeginPromotion(key, /*filtered=*/!warming_);
    }
    part.fetched.assign(static_cast<size_t>(p.touched_sectors()) * kSectorSize, 0);
    first.push_back(IoRequest::Read(
        fd_.get(),
        static_cast<off_t>(p.block * block_size + p.first_sector() * kSectorSize),
        part.fetched));
  }
  for (ChecksumRun& run : runs) {
    run.sums.resize(run.count);
    run.request = first.size();
    first.push_back(IoRequest::Read(engine_.checksums().fd(),
                                    static_cast<off_t>(run.first * kChecksumSize),
                                    BytesOf(run.sums)));
    // A few bytes per block, read on every hit: the page cache holds them.
    first.back().from_memory = true;
  }
  if (cached_only) {
    // Served only from memory: a hit whose slot must come from the cache
    // device is read by ReadAsync instead, which waits for no one.
    for (IoRequest& r : first) r.from_memory = r.memory_only = true;
  }
  return true;
}

void CachedFile::AbandonRead(ReadOp& op) {
  for (ReadPart& part : op.parts) {
    if (part.hit) engine_.index().Unpin(part.hit->slot);
    if (part.promotion) {
      engine_.index().EndPromotion({object_->id, part.piece.block}, *part.promotion, 0, 0, false);
    }
    part.hit.reset();
    part.promotion.reset();
  }
}

void CachedFile::CheckFirstBatch(ReadOp& op) {
  const uint32_t block_size = engine_.slots().block_size();
  const int slot_fd = engine_.slots().fd();
  std::span<char> out = op.out;
  for (ReadPart& part : op.parts) {
    const BlockPiece& p = part.piece;
    const IoRequest& r = op.first[part.request];
    if (part.hit) {
      const BlockKey key{object_->id, p.block};
      const ChecksumRun& run = op.runs[part.run];
      const IoRequest& sums = op.first[run.request];
      const size_t part_bytes = part.bounce.empty() ? p.length() : part.bounce.size();
      if (r.result >= static_cast<int64_t>(part.request_offset + part_bytes) &&
          sums.result == static_cast<int64_t>(sums.length)) {
        // DESIGN W6: served only once every touched sector's checksum matches.
        const uint32_t sectors = p.touched_sectors();
        if (FirstMismatch(key, p.first_sector(), sectors, r.buffer + part.request_offset,
                          run.sums.data() + part.run_offset) == sectors) {
          if (!part.bounce.empty()) {
            std::memcpy(out.data() + p.buffer_offset,
                        part.bounce.data() + (p.begin - p.first_sector() * kSectorSize),
                        p.length());
          }
          EngineCounters::Add(engine_.counters().bytes_read_from_cache, p.length());
        } else {
          // Corrupt, unless a write changed the block while it was read: either
          // way origin's bytes are served.
          if (engine_.index().DropIfUnchangedSincePin(key, *part.hit)) {
            engine_.CorruptBlock(object_->id, p.block, fd_.get());
          }
          part.fallback = true;
          op.second.push_back(IoRequest::Read(fd_.get(),
                                              static_cast<off_t>(p.block * block_size + p.begin),
                                              out.subspan(p.buffer_offset, p.length())));
          op.second_owner.push_back(&part);
        }
      } else {
        engine_.CacheError(engine_.counters().cache_read_errors);
        engine_.index().Invalidate(key, p.first_sector(), p.touched_sectors());
        EngineCounters::Add(engine_.counters().invalidations);
        part.fallback = true;
        op.second.push_back(IoRequest::Read(fd_.get(),
                                            static_cast<off_t>(p.block * block_size + p.begin),
                                            out.subspan(p.buffer_offset, p.length())));
        op.second_owner.push_back(&part);
      }
      engine_.index().Unpin(part.hit->slot);
      part.hit.reset();
      continue;
    }
    if (r.result < 0) {
      op.origin_error = static_cast<int>(-r.result);
      continue;
    }
    const size_t got = static_cast<size_t>(r.result);
    EngineCounters::Add(engine_.counters().bytes_read_from_origin, got);
    const size_t skip = p.begin - p.first_sector() * kSectorSize;
    const size_t usable = got > skip ? std::min(got - skip, p.length()) : 0;
    std::memcpy(out.data() + p.buffer_offset, part.fetched.data() + skip, usable);
    if (usable < p.length()) op.served = std::min(op.served, p.buffer_offset + usable);
    if (part.promotion) {
      // Whole sectors read, plus a last partial one when origin ended there
      // (its tail is zero, as origin reads past EOF after growth).
      const size_t sectors = (got + kSectorSize - 1) / kSectorSize;
      if (sectors == 0) continue;
      part.fetched.resize(sectors * kSectorSize);
      // The data and its checksums (of the zero-padded sectors as written).
      part.checksums = SectorChecksums({object_->id, p.block}, p.first_sector(),
                                       static_cast<uint32_t>(sectors), part.fetched.data());
      op.second.push_back(IoRequest::Write(
          slot_fd, engine_.slots().OffsetOf(part.promotion->slot) + p.first_sector() * kSectorSize,
          part.fetched));
      op.second_owner.push_back(&part);
      op.second.push_back(
          IoRequest::Write(engine_.checksums().fd(),
                           engine_.checksums().OffsetOf(part.promotion->slot, p.first_sector()),
                           BytesOf(part.checksums)));
      op.second_owner.push_back(&part);
    }
  }
}

Result<size_t> CachedFile::FinishRead(ReadOp& op, const Status& second_submitted) {
  if (op.second.empty() || op.origin_error != 0) {
    for (IoRequest& r : op.second) r.result = -ECANCELED;
  } else if (!second_submitted.ok()) {
    for (IoRequest& r : op.second) r.result = -second_submitted.error();
  }
  std::vector<IoRequest>& second = op.second;
  for (size_t i = 0; i < second.size(); ++i) {
    ReadPart& part = *op.second_owner[i];
    const BlockPiece& p = part.piece;
    if (part.fallback) {
      if (second[i].result < 0) {
        op.origin_error = static_cast<int>(-second[i].result);
      } else {
        const size_t got = static_cast<size_t>(second[i].result);
        EngineCounters::Add(engine_.counters().bytes_read_from_origin, got);
        // Origin ended early: what the failed hit left past that is not served.
        if (got < p.length()) op.served = std::min(op.served, p.buffer_offset + got);
      }
      continue;
    }
    // A promotion's data write is followed by its checksums' write.
    const IoRequest& data = second[i];
    const IoRequest& sums = second[++i];
    const bool copied = data.result == static_cast<int64_t>(data.length) &&
                        sums.result == static_cast<int64_t>(sums.length);
    if (!copied && data.result != -ECANCELED) {
      engine_.CacheWriteFailed(data.result != static_cast<int64_t>(data.length) ? data.result
                                                                                : sums.result);
    }
    const uint32_t sectors = static_cast<uint32_t>(data.length / kSectorSize);
    if (engine_.index().EndPromotion({object_->id, p.block}, *part.promotion, p.first_sector(),
                                     sectors, copied)) {
      EngineCounters::Add(engine_.counters().promotions);
    }
    part.promotion.reset();
  }
  for (ReadPart& part : op.parts) {  // promotions that copied nothing
    if (part.promotion) {
      engine_.index().EndPromotion({object_->id, part.piece.block}, *part.promotion, 0, 0, false);
      part.promotion.reset();
    }
  }
  if (op.origin_error != 0) {
    EngineCounters::Add(engine_.counters().origin_read_errors);
    return Status::Error(op.origin_error, "read origin");
  }
  // A hit that failed (its checksum, or the cache device) was served by
  // origin: it counts as a miss.
  size_t served_from_cache = 0;
  for (const ReadPart& part : op.parts) {
    served_from_cache += part.cached && !part.fallback ? 1 : 0;
    // A warmed block is cached, but its read is not the workload's.
    if (warming_) {
      engine_.curve().OnWrite({object_->id, part.piece.block}, /*allocate=*/true);
    } else {
      engine_.curve().OnRead({object_->id, part.piece.block}, part.cached && !part.fallback,
                             /*admit=*/!op.sequential);
    }
  }
  EngineCounters::Add(served_from_cache == op.parts.size() ? engine_.counters().read_hits
                      : served_from_cache == 0             ? engine_.counters().read_misses
                                                           : engine_.counters().read_partial_hits);
  return op.served;
}

Result<uint64_t> CachedFile::Warm(uint64_t offset, uint64_t length) {
  warming_ = true;
  std::vector<char> buffer(std::min<uint64_t>(length, 1 << 20));
  uint64_t done = 0;
  while (done < length) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - done));
    auto n = Read(static_cast<off_t>(offset + done), std::span<char>(buffer.data(), chunk));
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;  // end of file
    done += n.value();
  }
  return done;
}

// One write through the cache, from its holds to its acknowledgement: the
// stages Write() runs in a row, and WriteAsync() on both sides of the IO's
// completion. Its holds end with it, on whichever thread finishes it.
struct CachedFile::WriteOp {
  struct Part {
    BlockPiece piece;
    std::optional<PinnedBlock> pinned;  // else: origin only, promotions held off
    bool was_cached = false;
    std::vector<uint32_t> checksums;  // of the fully written sectors
    // Where its slot bytes and its checksums went: a request of `batch`, and
    // the offset of the part's bytes in it (parts in consecutive slots share
    // one request, as their checksums do).
    size_t data_request = 0;
    size_t data_offset = 0;
    size_t sums_request = 0;
    size_t sums_offset = 0;
  };

  WriteOp(std::shared_ptr<CachedObject> written, off_t at, std::span<const char> bytes,
          ChangeCaller by)
      : object(std::move(written)), offset(at), data(bytes), caller(std::move(by)) {}

  const std::shared_ptr<CachedObject> object;  // kept alive until the end
  const off_t offset;
  const std::span<const char> data;
  const ChangeCaller caller;
  std::shared_lock<ChangeGate> change;  // the object's data changes
  std::optional<BlockRangeLock::Held> blocks;
  bool change_begun = false;  // EngineState::EndChange() is owed
  bool degraded = false;      // origin only: the intent could not be marked
  std::vector<Part> parts;
  // Checksums of parts whose checksums lie back to back, in one buffer each.
  std::vector<std::vector<uint32_t>> checksum_runs;
  std::vector<IoRequest> batch;  // [0]: origin; then the cache's
};

bool CachedFile::HoldForWrite(WriteOp& op, bool wait) {
  const uint64_t block_size = engine_.slots().block_size();
  const uint64_t first_block = static_cast<uint64_t>(op.offset) / block_size;
  const uint64_t end_block =
      (static_cast<uint64_t>(op.offset) + op.data.size() + block_size - 1) / block_size;
  if (wait) {
    op.change = std::shared_lock(object_->change_gate);
    op.blocks.emplace(object_->write_ranges, first_block, end_block);
  } else {
    op.change = std::shared_lock(object_->change_gate, std::try_to_lock);
    if (!op.change.owns_lock()) return false;
    op.blocks.emplace(object_->write_ranges, first_block, end_block, std::try_to_lock);
    if (!op.blocks->held()) return false;
    // Marking an intent commits to the metadata store; a stat of a slow
    // origin is a round trip.
    if (!engine_.degraded() &&
        !engine_.intents().AllMarkedNow(object_->id, first_block, end_block)) {
      return false;
    }
    if (engine_.change_stat_ns() > kQuickOriginStatNs) return false;
  }
  engine_.BeginChange(object_, fd_.get());
  op.change_begun = true;
  op.degraded = !MarkIntent(static_cast<uint64_t>(op.offset), op.data.size());
  return true;
}

void CachedFile::RecordObject() {
  engine_.objects().Record(object_,
                           [this] { return engine_.sweep().HandleOf(fd_.get(), object_->dev); });
}

void CachedFile::PlanWrite(WriteOp& op) {
  const uint32_t block_size = engine_.slots().block_size();
  const int slot_fd = engine_.slots().fd();
  // Past the sequential cutoff, write misses go around the cache.
  const bool allocate = engine_.write_allocate() &&
                        !PastSequentialCutoff(static_cast<uint64_t>(op.offset), op.data.size());
  for (const BlockPiece& piece : SplitIntoBlocks(op.offset, op.data.size(), block_size)) {
    op.parts.push_back(WriteOp::Part{.piece = piece, .pinned = {}, .checksums = {}});
  }
  for (WriteOp::Part& part : op.parts) {
    const BlockPiece& p = part.piece;
    const BlockKey key{object_->id, p.block};
    if (op.degraded) {
      if (engine_.index().Invalidate(key, p.first_sector(), p.touched_sectors())) {
        EngineCounters::Add(engine_.counters().invalidations);
      }
      engine_.index().BeginUncachedWrite(key);
      EngineCounters::Add(engine_.counters().bypasses);
      continue;
    }
    if (allocate) RecordObject();
    engine_.curve().OnWrite(key, allocate);
    part.pinned = engine_.index().BeginWrite(key, allocate);
    if (!part.pinned) {
      EngineCounters::Add(engine_.counters().write_misses);
      continue;
    }
    part.was_cached = !part.pinned->valid.None();
    // The checksums of the sectors it writes whole, in the same submission; the
    // partly written ones become invalid (EndWrite below). Not a plain call
    // beside the ring: a cache device as slow as the origin then makes the
    // write take two latencies (bench/run's equally slow write latency).
    if (p.full_sectors() > 0) {
      part.checksums = SectorChecksums(
          key, p.first_full_sector(), p.full_sectors(),
          op.data.data() + p.buffer_offset + (p.first_full_sector() * kSectorSize - p.begin));
    }
  }

  // One submission: the origin write and every cache write (DESIGN W1). Parts
  // in consecutive slots are one write, and checksums that lie back to back
  // one more, as reads of consecutive slots are one read.
  op.batch = {IoRequest::Write(fd_.get(), op.offset, op.data)};
  // The checksum runs are gathered first: a request must not point into a
  // buffer that grows afterwards.
  std::vector<size_t> run_of(op.parts.size(), 0);
  std::vector<off_t> run_at;  // where each run goes in the checksum file
  off_t run_end = -1;
  for (size_t i = 0; i < op.parts.size(); ++i) {
    WriteOp::Part& part = op.parts[i];
    if (part.checksums.empty()) continue;
    const off_t at =
        engine_.checksums().OffsetOf(part.pinned->slot, part.piece.first_full_sector());
    if (op.checksum_runs.empty() || at != run_end) {
      op.checksum_runs.emplace_back();
      run_at.push_back(at);
    }
    std::vector<uint32_t>& run = op.checksum_runs.back();
    part.sums_offset = run.size() * kChecksumSize;
    run.insert(run.end(), part.checksums.begin(), part.checksums.end());
    run_of[i] = op.checksum_runs.size() - 1;
    run_end = at + static_cast<off_t>(part.checksums.size() * kChecksumSize);
  }
  for (WriteOp::Part& part : op.parts) {
    if (!part.pinned) continue;
    const BlockPiece& p = part.piece;
    const off_t at = engine_.slots().OffsetOf(part.pinned->slot) + p.begin;
    const char* bytes = op.data.data() + p.buffer_offset;
    IoRequest* last = op.batch.size() > 1 ? &op.batch.back() : nullptr;
    if (last != nullptr && last->fd == slot_fd &&
        last->offset + static_cast<off_t>(last->length) == at &&
        last->buffer + last->length == bytes) {
      part.data_request = op.batch.size() - 1;
      part.data_offset = last->length;
      last->length += p.length();
    } else {
      part.data_request = op.batch.size();
      op.batch.push_back(IoRequest::Write(slot_fd, at, op.data.subspan(p.buffer_offset,
                                                                      p.length())));
    }
  }
  std::vector<size_t> run_request(op.checksum_runs.size());
  for (size_t r = 0; r < op.checksum_runs.size(); ++r) {
    run_request[r] = op.batch.size();
    op.batch.push_back(IoRequest::Write(engine_.checksums().fd(), run_at[r],
                                        BytesOf(std::as_const(op.checksum_runs[r]))));
  }
  for (size_t i = 0; i < op.parts.size(); ++i) {
    if (!op.parts[i].checksums.empty()) op.parts[i].sums_request = run_request[run_of[i]];
  }
}

Result<size_t> CachedFile::FinishWrite(WriteOp& op, const Status& submitted) {
  const int64_t origin_result = submitted.ok() ? op.batch[0].result : -submitted.error();
  const bool origin_complete = origin_result == static_cast<int64_t>(op.data.size());
  // A part is cached when its bytes and its checksums were written whole: a
  // short transfer of a request several parts share ends some of them.
  const auto wrote = [&](size_t request, size_t offset, size_t length) {
    return submitted.ok() &&
           op.batch[request].result >= static_cast<int64_t>(offset + length);
  };
  const auto failure = [&](size_t request) {
    const int64_t result = submitted.ok() ? op.batch[request].result : -submitted.error();
    return result < 0 ? result : -EIO;  // short: the device is full, say
  };
  std::vector<bool> counted(op.batch.size(), false);
  for (WriteOp::Part& part : op.parts) {
    if (!part.pinned) {
      engine_.index().EndUncachedWrite({object_->id, part.piece.block});
      continue;
    }
    const BlockPiece& p = part.piece;
    bool cache_complete = wrote(part.data_request, part.data_offset, p.length());
    size_t failed_request = part.data_request;
    if (cache_complete && !part.checksums.empty() &&
        !wrote(part.sums_request, part.sums_offset, part.checksums.size() * kChecksumSize)) {
      cache_complete = false;
      failed_request = part.sums_request;
    }
    // One error per failed request, however many parts it carried.
    if (origin_complete && !cache_complete && !counted[failed_request]) {
      counted[failed_request] = true;
      engine_.CacheWriteFailed(failure(failed_request));
    }
    const bool cached = origin_complete && cache_complete;
    if (!cached) EngineCounters::Add(engine_.counters().invalidations);
    EngineCounters::Add(part.was_cached ? engine_.counters().write_hits
                                        : engine_.counters().write_misses);
    engine_.index().EndWrite({object_->id, p.block}, *part.pinned, p.first_sector(),
                             p.touched_sectors(), p.first_full_sector(), p.full_sectors(), cached,
                             BlockIndex::PartialSectors::kInvalidate);
  }
  if (origin_result >= 0) {
    const uint64_t end = static_cast<uint64_t>(op.offset) + static_cast<uint64_t>(origin_result);
    // Writes to other blocks may extend the file at the same time.
    uint64_t size = object_->size.load();
    while (end > size && !object_->size.compare_exchange_weak(size, end)) {
    }
  }
  // Origin completed the change: its attributes after it are recorded before
  // the blocks and the object are let go.
  const int privilege_error =
      engine_.EndChange(object_, fd_.get(), origin_result >= 0 ? &op.caller : nullptr);
  op.change_begun = false;
  op.blocks.reset();
  op.change.unlock();
  if (origin_result < 0) {
    EngineCounters::Add(engine_.counters().origin_write_errors);
    return Status::Error(static_cast<int>(-origin_result), "write origin");
  }
  if (privilege_error != 0) {
    return Status::Error(privilege_error, "clear setuid/setgid of origin file");
  }
  return static_cast<size_t>(origin_result);
}

Result<size_t> CachedFile::Write(off_t offset, std::span<const char> data,
                                 const ChangeCaller& caller) {
  if (offset < 0) return Status::Error(EINVAL, "negative write offset");
  WriteOp op(object_, offset, data, caller);
  (void)HoldForWrite(op, /*wait=*/true);
  PlanWrite(op);
  const Status submitted = SubmitWrite(op.batch);
  return FinishWrite(op, submitted);
}

bool CachedFile::WriteAsync(off_t offset, std::span<const char> data,
                            const ChangeCaller& caller,
                            std::function<void(Result<size_t>)> done) {
  // A caller other than root may have privilege bits to clear after the
  // write, which waits for the kernel: not on the IO completion thread.
  if (offset < 0 || engine_.config().serial_writethrough || caller.uid != 0) return false;
  auto op = std::make_shared<WriteOp>(object_, offset, data, caller);
  if (!HoldForWrite(*op, /*wait=*/false)) {
    // Nothing begun: the holds taken so far end with `op`.
    return false;
  }
  PlanWrite(*op);
  const Status submitted = engine_.io().SubmitAsync(
      op->batch, [this, op, done] { done(FinishWrite(*op, Status::Ok())); });
  if (!submitted.ok()) done(FinishWrite(*op, submitted));
  return true;
}

Status CachedFile::Truncate(off_t new_size, const ChangeCaller& caller) {
  std::lock_guard change(object_->change_gate);
  OriginChange change_of_origin(engine_, object_, fd_.get());
  const uint64_t current = object_->size.load();
  if (static_cast<uint64_t>(new_size) < current) {
    MarkIntent(static_cast<uint64_t>(new_size), current - static_cast<uint64_t>(new_size));
  }
  if (const int error = engine_.io().Truncate(fd_.get(), new_size)) {
    return Status::Error(error, "truncate origin");
  }
  const uint64_t old_size = object_->size.exchange(static_cast<uint64_t>(new_size));
  const uint64_t size = static_cast<uint64_t>(new_size);
  if (size < old_size) {
    const uint32_t block_size = engine_.slots().block_size();
    const uint64_t block = size / block_size;
    const uint32_t within = static_cast<uint32_t>(size % block_size);
    const uint64_t end_block = (old_size + block_size - 1) / block_size;
    if (within != 0) {
      // The sector holding the new end keeps bytes past it: invalidate it too.
      const uint32_t sector = within / kSectorSize;
      if (engine_.index().Invalidate({object_->id, block}, sector,
                                     engine_.index().sectors_per_block() - sector)) {
        EngineCounters::Add(engine_.counters().invalidations);
      }
      engine_.DropBlocksFrom(object_->id, block + 1, end_block);
    } else {
      engine_.DropBlocksFrom(object_->id, block, end_block);
    }
  }
  return change_of_origin.Succeeded(caller);
}

Status CachedFile::Sync(bool data_only) {
  // No write to this file may slip between the syncs and the clearing of its
  // intent marks.
  std::lock_guard change(object_->change_gate);
  // Origin and cache are made durable in parallel.
  std::vector<IoRequest> batch = {IoRequest::Sync(fd_.get(), data_only),
                                  IoRequest::Sync(engine_.slots().fd(), true)};
  if (Status s = engine_.io().Submit(batch); !s.ok()) return s;
  if (batch[0].result < 0) {
    return Status::Error(static_cast<int>(-batch[0].result), "sync origin");
  }
  if (batch[1].result < 0) {
    engine_.CacheError(engine_.counters().cache_write_errors);
    return Status::Ok();  // origin is durable; the cache keeps its marks
  }
  // The mapping becomes durable too, and this file's writes need no recovery.
  (void)engine_.Flush(object_.get());
  return Status::Ok();
}

Status CachedFile::Allocate(int mode, off_t offset, off_t length, const ChangeCaller& caller) {
  std::lock_guard change(object_->change_gate);
  OriginChange change_of_origin(engine_, object_, fd_.get());
  if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
    const uint64_t end = std::max(object_->size.load(), static_cast<uint64_t>(offset));
    MarkIntent(static_cast<uint64_t>(offset), end - static_cast<uint64_t>(offset) + length);
  } else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    MarkIntent(static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  }
  if (const int error = engine_.io().Allocate(fd_.get(), mode, offset, length)) {
    return Status::Error(error, "fallocate origin");
  }
  if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
    // Data after offset moved: every block from there on is stale.
    engine_.DropBlocksFrom(object_->id,
                           static_cast<uint64_t>(offset) / engine_.slots().block_size(), 0);
  } else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    engine_.InvalidateRange(object_->id, static_cast<uint64_t>(offset),
                            static_cast<uint64_t>(length));
  }
  struct stat st;
  if (engine_.io().Stat(fd_.get(), &st) == 0) object_->size = static_cast<uint64_t>(st.st_size);
  return change_of_origin.Succeeded(caller);
}

Result<size_t> CachedFile::CopyTo(off_t offset, OpenFile& dest, off_t dest_offset,
                                  size_t length, unsigned flags, const ChangeCaller& caller) {
  auto* target = dynamic_cast<CachedFile*>(&dest);
  if (target == nullptr) return Status::Error(EXDEV, "copy between different engines");
  std::lock_guard change(target->object_->change_gate);
  OriginChange change_of_origin(engine_, target->object_, target->fd_.get());
  target->MarkIntent(static_cast<uint64_t>(dest_offset), length);
  const int64_t n =
      engine_.io().CopyRange(fd_.get(), offset, target->fd_.get(), dest_offset, length, flags);
  if (n < 0) return Status::Error(static_cast<int>(-n), "copy_file_range on origin");
  engine_.InvalidateRange(target->object_->id, static_cast<uint64_t>(dest_offset),
                          static_cast<uint64_t>(n));
  const uint64_t end = static_cast<uint64_t>(dest_offset) + static_cast<uint64_t>(n);
  if (end > target->object_->size.load()) target->object_->size = end;
  if (n > 0) {
    if (Status s = change_of_origin.Succeeded(caller); !s.ok()) return s;
  }
  return static_cast<size_t>(n);
}

Status CachedFile::SubmitWrite(std::span<IoRequest> batch) {
  if (!engine_.config().serial_writethrough || batch.size() == 1) return engine_.io().Submit(batch);
  if (Status s = engine_.io().Submit(batch.first(1)); !s.ok()) return s;
  if (batch[0].result != static_cast<int64_t>(batch[0].length)) {
    for (IoRequest& r : batch.subspan(1)) r.result = -ECANCELED;  // not cached
    return Status::Ok();
  }
  return engine_.io().Submit(batch.subspan(1));
}

bool CachedFile::MarkIntent(uint64_t offset, uint64_t length) {
  if (engine_.degraded()) return false;
  if (length == 0) return true;
  const uint64_t block_size = engine_.slots().block_size();
  const uint64_t first = offset / block_size;
  const uint64_t end = (offset + length + block_size - 1) / block_size;
  if (engine_.intents().MarkForWrite(object_->id, first, end).ok()) return true;
  // Without a durable intent, cache writes would not be crash safe.
  engine_.DegradeWhileMetadataFails("the intent log cannot be written");
  return false;
}

}  // namespace wtcachefs
