// SPDX-License-Identifier: Apache-2.0
// CachedFile: an origin file open through the cache engine; the read and write
// paths of DESIGN §2 (W1, W2, W3, W5).
//
// Thread safety: every method may be called concurrently. Writes to different
// blocks run at once, writes sharing a block one after the other; Truncate,
// Allocate, Sync and being the target of CopyTo exclude every write of the
// file (the object's change_gate). Reads run in parallel with everything.
#pragma once

#include <memory>
#include <mutex>
#include <span>

#include "engine/engine_state.h"
#include "wtcachefs/data_engine.h"

namespace wtcachefs {

class CachedFile final : public OpenFile {
 public:
  CachedFile(EngineState& engine, UniqueFd origin_fd, std::shared_ptr<CachedObject> object,
             bool page_cache_valid)
      : engine_(engine),
        fd_(std::move(origin_fd)),
        object_(std::move(object)),
        page_cache_valid_(page_cache_valid) {
    engine_.open_files().Add(this, object_, fd_.get());
    engine_.FileOpened(object_);
  }
  ~CachedFile() override {
    engine_.open_files().Remove(this);
    engine_.FileClosed(object_, fd_.get());
  }
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  Result<size_t> Read(off_t offset, std::span<char> out) override;
  std::optional<Result<size_t>> ReadIfCached(off_t offset, std::span<char> out) override;
  bool ReadAsync(off_t offset, std::span<char> out,
                 std::function<void(Result<size_t>)> done) override;
  Result<size_t> Write(off_t offset, std::span<const char> data,
                       const ChangeCaller& caller) override;
  bool WriteAsync(off_t offset, std::span<const char> data, const ChangeCaller& caller,
                  std::function<void(Result<size_t>)> done) override;
  Status Truncate(off_t size, const ChangeCaller& caller) override;
  Status Sync(bool data_only) override;
  Status Allocate(int mode, off_t offset, off_t length, const ChangeCaller& caller) override;
  Result<size_t> CopyTo(off_t offset, OpenFile& dest, off_t dest_offset, size_t length,
                        unsigned flags, const ChangeCaller& caller) override;
  int origin_fd() const override { return fd_.get(); }

  // Reads [offset, offset + length) into the cache, past the sequential cutoff
  // and the promotion filter (an explicit warm-up; a full cache evicts by
  // policy). Returns the bytes read.
  Result<uint64_t> Warm(uint64_t offset, uint64_t length);
  bool page_cache_valid() const override { return page_cache_valid_; }

 private:
  struct ReadOp;
  // What a read may wait for before its IO is submitted: anything (Read()),
  // nothing but its own IO (ReadAsync(): no group commit), or nothing at all
  // (ReadIfCached(): cache hits only).
  enum class Waits { kAny, kIo, kNone };
  // A read's stages. PlanRead pins the hits, begins the misses' promotions and
  // builds the first batch (hits and their checksums, misses from origin);
  // false, with nothing held, when a miss would need what `waits` forbids.
  // CheckFirstBatch verifies the hits and copies the misses out, building the
  // second batch (promotions, re-reads of failed hits); FinishRead installs
  // the promotions and gives the result. AbandonRead lets go of a planned
  // read whose first batch could not be submitted.
  bool PlanRead(ReadOp& op, off_t offset, uint64_t size, Waits waits);
  void CheckFirstBatch(ReadOp& op);
  Result<size_t> FinishRead(ReadOp& op, const Status& second_submitted);
  void AbandonRead(ReadOp& op);

  struct WriteOp;
  // A write's stages. HoldForWrite takes what the write holds until it is
  // acknowledged (the object's change gate, its blocks' range lock), begins
  // the change of origin (W6) and marks the intent (W4). Without `wait` it
  // takes nothing that would make it wait (held by another change, an intent
  // to commit, a slow origin stat) and returns false instead, having begun
  // nothing. PlanWrite pins the blocks and builds the one submission (W1);
  // FinishWrite applies its outcome, ends the change and lets go.
  bool HoldForWrite(WriteOp& op, bool wait);
  void PlanWrite(WriteOp& op);
  // Before a block of the object is mapped: it gets its record (with the
  // file's handle for the sweep) at the next commit.
  void RecordObject();
  Result<size_t> FinishWrite(WriteOp& op, const Status& submitted);
  // Origin stats at most this slow (on average) are taken by a thread that
  // must not wait for origin: a local file system's, not a network's.
  static constexpr int64_t kQuickOriginStatNs = 100'000;

  // Durably marks the blocks of [offset, offset + length) in the intent log before
  // a change to them is submitted. False when the engine is (now) degraded: the
  // change must then go to origin only, invalidating cached blocks.
  bool MarkIntent(uint64_t offset, uint64_t length);
  // Submits a write's batch: batch[0] to origin, the rest to the cache. All at
  // once (DESIGN W1), or origin first and the cache only after origin wrote it
  // all under the diagnostic serial_writethrough; cache requests not submitted
  // then carry -ECANCELED.
  Status SubmitWrite(std::span<IoRequest> batch);
  // Read() after revalidation; with `cached_only`, nullopt (nothing done) as
  // soon as a block turns out to need origin.
  std::optional<Result<size_t>> ReadRevalidated(off_t offset, std::span<char> out,
                                                bool cached_only);
  // Origin-only read of [offset, offset + out.size()) (no cache involvement).
  Result<size_t> ReadOrigin(off_t offset, std::span<char> out);
  // Sequential cutoff (bcache's sequential_cutoff): true when the request
  // continues a stream of requests to this open file, each starting near where
  // the previous one ended, that has passed config.sequential_cutoff bytes. Its
  // misses are then not cached.
  bool PastSequentialCutoff(uint64_t offset, uint64_t length);
  // The stream PastSequentialCutoff follows, to take a request back out of it.
  struct StreamState {
    uint64_t end;
    uint64_t bytes;
  };
  StreamState Stream() {
    std::lock_guard lock(stream_mutex_);
    return {stream_end_, stream_bytes_};
  }
  void SetStream(StreamState state) {
    std::lock_guard lock(stream_mutex_);
    stream_end_ = state.end;
    stream_bytes_ = state.bytes;
  }

  EngineState& engine_;
  UniqueFd fd_;
  std::shared_ptr<CachedObject> object_;
  const bool page_cache_valid_;
  bool warming_ = false;  // set by Warm() on a file private to it
  std::mutex stream_mutex_;
  uint64_t stream_end_ = 0;    // GUARDED_BY(stream_mutex_)
  uint64_t stream_bytes_ = 0;  // GUARDED_BY(stream_mutex_)
};

}  // namespace wtcachefs
