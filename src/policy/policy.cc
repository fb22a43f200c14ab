// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/policy.h"

#include "policy/policies.h"

namespace wtcachefs {

std::unique_ptr<ReplacementPolicy> MakePolicy(PolicyKind kind, uint64_t capacity) {
  switch (kind) {
    case PolicyKind::kLru: return std::make_unique<LruPolicy>(capacity);
    case PolicyKind::kTwoQueue: return std::make_unique<TwoQueuePolicy>(capacity);
    case PolicyKind::kArc: return std::make_unique<ArcPolicy>(capacity);
  }
  return std::make_unique<LruPolicy>(capacity);
}

std::string_view PolicyName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kLru: return "lru";
    case PolicyKind::kTwoQueue: return "2q";
    case PolicyKind::kArc: return "arc";
  }
  return "lru";
}

std::optional<PolicyKind> PolicyByName(std::string_view name) {
  for (PolicyKind kind : {PolicyKind::kLru, PolicyKind::kTwoQueue, PolicyKind::kArc}) {
    if (PolicyName(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace wtcachefs
