// SPDX-License-Identifier: Apache-2.0
#include "policy/ghost_list.h"

namespace wtcachefs {

uint32_t GhostList::FingerprintOf(const BlockKey& key) {
  // murmur3's 32-bit finaliser: a bijection, so distinct block numbers (below
  // 2^32, as every cached block's is) of one object differ.
  uint32_t h = static_cast<uint32_t>(key.block) ^ static_cast<uint32_t>(Mix64(key.object_id));
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  return h ^ (h >> 16);
}

bool GhostList::IsLive(uint64_t index) const {
  return table_.Find(
             HashOf(ring_[index]), [&](uint32_t ref) { return ref == index; }, RingHash()) !=
         IndexTable::kNone;
}

void GhostList::PushFront(uint32_t fingerprint) {
  if (span_ == ring_.size() || live_ == table_.capacity()) Compact();
  const uint64_t index = RingIndex(span_);
  ring_[index] = fingerprint;
  ++span_;
  ++live_;
  table_.Insert(HashOf(fingerprint), static_cast<uint32_t>(index), RingHash());
}

bool GhostList::Remove(uint32_t fingerprint) {
  const uint32_t index = table_.Find(
      HashOf(fingerprint), [&](uint32_t ref) { return ring_[ref] == fingerprint; }, RingHash());
  if (index == IndexTable::kNone) return false;
  table_.Erase(HashOf(fingerprint), index, RingHash());
  --live_;
  SkipHoles();
  return true;
}

bool GhostList::PopBack() {
  if (live_ == 0) return false;
  const uint32_t fingerprint = ring_[tail_];  // SkipHoles keeps the tail live
  table_.Erase(HashOf(fingerprint), static_cast<uint32_t>(tail_), RingHash());
  --live_;
  SkipHoles();
  return true;
}

void GhostList::SkipHoles() {
  while (span_ > 0 && !IsLive(tail_)) {
    tail_ = tail_ + 1 == ring_.size() ? 0 : tail_ + 1;
    --span_;
  }
}

void GhostList::Compact() {
  std::vector<uint32_t> live;
  // Room for a sixteenth more ghosts (or holes) before the next compaction.
  const uint64_t room = live_ + live_ / 16 + 64;
  live.reserve(room);
  for (uint64_t offset = 0; offset < span_; ++offset) {
    if (const uint64_t index = RingIndex(offset); IsLive(index)) live.push_back(ring_[index]);
  }
  live.resize(room, 0);
  ring_ = std::move(live);
  ring_.shrink_to_fit();
  tail_ = 0;
  span_ = live_;
  table_ = IndexTable(room);
  for (uint64_t index = 0; index < span_; ++index) {
    table_.Insert(HashOf(ring_[index]), static_cast<uint32_t>(index), RingHash());
  }
}

}  // namespace wtcachefs
