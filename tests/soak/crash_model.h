// SPDX-License-Identifier: Apache-2.0
// WrittenBytes: what a writer through the view knows of a range of one file
// that it alone writes. For every byte: the content of its latest write, and
// how far that write is known to have got. A write that returned in full is
// acknowledged: wtcachefs replies only once origin has it (writethrough; the
// view has no writeback cache), so it is on origin even if the daemon dies at
// once. An fsync or fdatasync that returned 0 after it makes it synced, the
// promise an application relies on. A write that was cut short or never
// returned (the daemon was killed) leaves its bytes unknown until a later
// write covers them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wtcachefs::crash_soak {

enum class ByteState : uint8_t { kUnknown, kAcknowledged, kSynced };

// A byte of origin that differs from an acknowledged write.
struct LostWrite {
  uint64_t offset = 0;  // in the file
  ByteState state = ByteState::kUnknown;
  uint8_t expected = 0;
  uint8_t found = 0;      // meaningless when origin is shorter
  bool past_end = false;  // origin ends before `offset`
};

// Not thread-safe: one writer thread at a time; the soak reads it only after
// that thread was joined.
class WrittenBytes {
 public:
  // Bytes [begin, end) of a file; all unknown.
  WrittenBytes(uint64_t begin, uint64_t end);

  uint64_t begin() const { return begin_; }
  uint64_t end() const { return end_; }

  // Before a write of `data` at `offset` is issued: its bytes become unknown.
  void WriteIssued(uint64_t offset, const char* data, size_t length);
  // The write issued at `offset` returned `length`, all of it.
  void WriteAcknowledged(uint64_t offset, size_t length);
  // An fsync or fdatasync returned 0: every write acknowledged before it is synced.
  void Synced();

  // The first byte of origin's `content` of the range (read from offset
  // begin()) that differs from a write known to be on origin; nullopt if none.
  std::optional<LostWrite> FirstLostWrite(const std::string& content) const;

 private:
  uint64_t begin_, end_;
  std::string content_;           // indexed from begin_
  std::vector<ByteState> state_;  // indexed from begin_
  // Acknowledged since the last sync, as (offset, length).
  std::vector<std::pair<uint64_t, size_t>> unsynced_;
};

}  // namespace wtcachefs::crash_soak
