// SPDX-License-Identifier: Apache-2.0
#include "crash_model.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace wtcachefs::crash_soak {

WrittenBytes::WrittenBytes(uint64_t begin, uint64_t end)
    : begin_(begin), end_(end), content_(end - begin, '\0'), state_(end - begin) {}

void WrittenBytes::WriteIssued(uint64_t offset, const char* data, size_t length) {
  assert(offset >= begin_ && offset + length <= end_);
  const uint64_t at = offset - begin_;
  std::memcpy(content_.data() + at, data, length);
  std::fill_n(state_.begin() + static_cast<std::ptrdiff_t>(at), length, ByteState::kUnknown);
}

void WrittenBytes::WriteAcknowledged(uint64_t offset, size_t length) {
  const uint64_t at = offset - begin_;
  std::fill_n(state_.begin() + static_cast<std::ptrdiff_t>(at), length, ByteState::kAcknowledged);
  unsynced_.emplace_back(offset, length);
}

void WrittenBytes::Synced() {
  // One writer: no write of this range is in flight now, so every byte of an
  // acknowledged range holds its latest write, acknowledged before the sync.
  for (const auto& [offset, length] : unsynced_) {
    const auto first = state_.begin() + static_cast<std::ptrdiff_t>(offset - begin_);
    std::replace(first, first + static_cast<std::ptrdiff_t>(length), ByteState::kAcknowledged,
                 ByteState::kSynced);
  }
  unsynced_.clear();
}

std::optional<LostWrite> WrittenBytes::FirstLostWrite(const std::string& content) const {
  for (size_t i = 0; i < state_.size(); ++i) {
    if (state_[i] == ByteState::kUnknown) continue;
    const bool past_end = i >= content.size();
    if (!past_end && content[i] == content_[i]) continue;
    LostWrite lost;
    lost.offset = begin_ + i;
    lost.state = state_[i];
    lost.expected = static_cast<uint8_t>(content_[i]);
    lost.found = past_end ? 0 : static_cast<uint8_t>(content[i]);
    lost.past_end = past_end;
    return lost;
  }
  return std::nullopt;
}

}  // namespace wtcachefs::crash_soak
