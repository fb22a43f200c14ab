// SPDX-License-Identifier: Apache-2.0
// The policy simulator: replays a trace through the replacement policies the
// daemon uses (wtcachefs/policy.h, driven with the same calls as BlockIndex
// makes) and through Bélády's optimal offline policy, and reports hit ratios.
#pragma once

#include <string>
#include <vector>

#include "sim/traces.h"
#include "wtcachefs/policy.h"

namespace wtcachefs::sim {

struct SimResult {
  uint64_t accesses = 0;
  uint64_t hits = 0;
  double hit_ratio() const { return accesses == 0 ? 0 : static_cast<double>(hits) / accesses; }
};

// A cache of `capacity` blocks under `kind`, promoting a block on its
// `promote_after`th miss (1: every miss).
SimResult SimulatePolicy(const Trace& trace, uint64_t capacity, PolicyKind kind,
                         uint32_t promote_after = 1);
// Bélády's MIN with optional admission: on a miss, the block used farthest in
// the future, the new one included, is the one not kept. The best hit ratio any
// policy can reach for this capacity, over the reads: writes are left out (on
// a trace with writes, a write-allocate policy may beat it).
SimResult SimulateOptimal(const Trace& trace, uint64_t capacity);

struct NamedTrace {
  std::string name;
  std::string description;
  Trace trace;
};
// The traces of docs/policy.md, scaled to a cache of `capacity` blocks.
std::vector<NamedTrace> StandardTraces(uint64_t capacity, uint64_t accesses, uint64_t seed);

// A Markdown table: one row per trace, hit ratios of every policy and of the
// optimal policy.
std::string ReportTable(const std::vector<NamedTrace>& traces, uint64_t capacity,
                        uint32_t promote_after = 1);

}  // namespace wtcachefs::sim
