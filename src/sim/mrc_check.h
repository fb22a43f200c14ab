// SPDX-License-Identifier: Apache-2.0
// Checks the daemon's live miss-ratio curve (wtcachefs/miss_ratio_curve.h)
// against the truth on a trace: the trace is replayed through a
// MissRatioCurve, as the daemon feeds its own, and through a full simulation
// of the policy at every size the curve predicts (wtcachefs-sim run --mrc).
#pragma once

#include <string>
#include <vector>

#include "sim/traces.h"
#include "wtcachefs/policy.h"

namespace wtcachefs::sim {

struct MrcCheckRow {
  uint64_t cache_blocks = 0;
  double exact = 0;      // the policy, fully simulated
  double estimated = 0;  // the policy's miniature simulation
  double exact_lru = 0;
  double estimated_lru = 0;  // from sampled reuse distances
};

struct MrcCheck {
  PolicyKind policy = kDefaultPolicy;
  std::vector<MrcCheckRow> rows;  // 1/4x to 8x of the capacity
  double sampling_rate = 0;
  double simulation_rate = 0;
  uint64_t memory_bytes = 0;
  double mean_absolute_error() const;      // of the policy's estimate
  double lru_mean_absolute_error() const;  // of the LRU estimate
};

// The curve for a cache of `capacity` blocks under `kind`.
MrcCheck CheckMrc(const Trace& trace, uint64_t capacity, PolicyKind kind,
                  uint32_t promote_after = 1);

// A Markdown table of one check, rows by size.
std::string MrcCheckTable(const MrcCheck& check);

}  // namespace wtcachefs::sim
