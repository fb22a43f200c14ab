#include "policy/policies.h"

#include <algorithm>

namespace wtcachefs {

TwoQueuePolicy::TwoQueuePolicy(uint64_t capacity)
    : in_limit_(std::max<uint64_t>(1, capacity / 4)),
      ghost_limit_(std::max<uint64_t>(1, capacity / 2)) {}

void TwoQueuePolicy::OnHit(const BlockKey& key) {
  // A hit in the FIFO does not promote: a block must survive leaving it.
  if (main_.Contains(key)) main_.PushFront(key);
}

void TwoQueuePolicy::OnMiss(const BlockKey& key) {
  if (ghosts_.Remove(key)) returning_ = key;
}

void TwoQueuePolicy::OnInsert(const BlockKey& key) {
  if (returning_ && *returning_ == key) {
    main_.PushFront(key);
  } else {
    in_.PushFront(key);
  }
  returning_.reset();
}

void TwoQueuePolicy::OnRemove(const BlockKey& key) {
  if (!in_.Remove(key)) main_.Remove(key);
  ghosts_.Remove(key);
}

std::optional<BlockKey> TwoQueuePolicy::Victim(
    const std::function<bool(const BlockKey&)>& evictable) {
  KeyList& first = in_.size() > in_limit_ || main_.empty() ? in_ : main_;
  KeyList& second = &first == &in_ ? main_ : in_;
  if (auto victim = first.OldestAccepted(evictable)) return victim;
  return second.OldestAccepted(evictable);
}

void TwoQueuePolicy::OnEvict(const BlockKey& key) {
  if (in_.Remove(key)) {
    ghosts_.PushFront(key);
    if (ghosts_.size() > ghost_limit_) ghosts_.PopBack();
    return;
  }
  main_.Remove(key);
}

}  // namespace wtcachefs
