#include "policy/policies.h"

namespace wtcachefs {

void LruPolicy::OnHit(const BlockKey& key) { blocks_.PushFront(key); }
void LruPolicy::OnMiss(const BlockKey&) {}
void LruPolicy::OnInsert(const BlockKey& key) { blocks_.PushFront(key); }
void LruPolicy::OnRemove(const BlockKey& key) { blocks_.Remove(key); }
void LruPolicy::OnEvict(const BlockKey& key) { blocks_.Remove(key); }

std::optional<BlockKey> LruPolicy::Victim(const std::function<bool(const BlockKey&)>& evictable) {
  return blocks_.OldestAccepted(evictable);
}

}  // namespace wtcachefs
