#include "policy/policies.h"

#include <algorithm>

namespace wtcachefs {

ArcPolicy::ArcPolicy(uint64_t capacity) : capacity_(std::max<uint64_t>(1, capacity)) {}

void ArcPolicy::OnHit(const BlockKey& key) {
  // Seen twice while cached: frequent.
  recent_.Remove(key);
  frequent_.PushFront(key);
}

void ArcPolicy::OnMiss(const BlockKey& key) {
  last_miss_was_frequent_ghost_ = false;
  const double recent_ghosts = static_cast<double>(recent_ghosts_.size());
  const double frequent_ghosts = static_cast<double>(frequent_ghosts_.size());
  if (recent_ghosts_.Remove(key)) {
    // Evicted from the recency side too early: give it more room.
    const double step = std::max(1.0, frequent_ghosts / std::max(1.0, recent_ghosts));
    target_recent_ = std::min(static_cast<double>(capacity_), target_recent_ + step);
    returning_ = key;
  } else if (frequent_ghosts_.Remove(key)) {
    const double step = std::max(1.0, recent_ghosts / std::max(1.0, frequent_ghosts));
    target_recent_ = std::max(0.0, target_recent_ - step);
    returning_ = key;
    last_miss_was_frequent_ghost_ = true;
  } else {
    returning_.reset();
  }
}

void ArcPolicy::OnInsert(const BlockKey& key) {
  if (returning_ && *returning_ == key) {
    frequent_.PushFront(key);
  } else {
    recent_.PushFront(key);
  }
  returning_.reset();
  TrimGhosts();
}

void ArcPolicy::OnRemove(const BlockKey& key) {
  if (!recent_.Remove(key)) frequent_.Remove(key);
}

std::optional<BlockKey> ArcPolicy::Victim(const std::function<bool(const BlockKey&)>& evictable) {
  const double recent = static_cast<double>(recent_.size());
  const bool from_recent =
      !recent_.empty() &&
      (recent > target_recent_ || (last_miss_was_frequent_ghost_ && recent == target_recent_) ||
       frequent_.empty());
  KeyList& first = from_recent ? recent_ : frequent_;
  KeyList& second = from_recent ? frequent_ : recent_;
  if (auto victim = first.OldestAccepted(evictable)) return victim;
  return second.OldestAccepted(evictable);
}

void ArcPolicy::OnEvict(const BlockKey& key) {
  if (recent_.Remove(key)) {
    recent_ghosts_.PushFront(key);
  } else if (frequent_.Remove(key)) {
    frequent_ghosts_.PushFront(key);
  }
  TrimGhosts();
}

void ArcPolicy::TrimGhosts() {
  // ARC's directory bounds: |T1| + |B1| <= c and |T1| + |T2| + |B1| + |B2| <= 2c.
  while (recent_.size() + recent_ghosts_.size() > capacity_ && !recent_ghosts_.empty()) {
    recent_ghosts_.PopBack();
  }
  while (recent_.size() + frequent_.size() + recent_ghosts_.size() + frequent_ghosts_.size() >
             2 * capacity_ &&
         !frequent_ghosts_.empty()) {
    frequent_ghosts_.PopBack();
  }
}

}  // namespace wtcachefs
