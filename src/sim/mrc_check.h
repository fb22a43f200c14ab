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
  double max_absolute_error() const;       // of the policy's estimate, at any size
};

// The curve for a cache of `capacity` blocks under `kind`.
MrcCheck CheckMrc(const Trace& trace, uint64_t capacity, PolicyKind kind,
                  uint32_t promote_after = 1);

// A Markdown table of one check, rows by size.
std::string MrcCheckTable(const MrcCheck& check);

struct NamedMrcChecks {
  std::string trace;
  std::vector<MrcCheck> checks;  // one per policy, in the same order for every trace
};
// A Markdown table, a row per trace: each policy's mean (and largest) absolute
// error, and the LRU estimate's mean error from the sampled reuse distances.
std::string MrcSummaryTable(const std::vector<NamedMrcChecks>& traces);

}  // namespace wtcachefs::sim
