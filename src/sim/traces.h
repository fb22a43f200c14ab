// SPDX-License-Identifier: Apache-2.0
// Block-access traces for the policy simulator: a trace is the sequence of
// block numbers a workload asks for. The generators are deterministic for a
// seed, so a table of results can be reproduced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wtcachefs/status.h"

namespace wtcachefs::sim {

using Trace = std::vector<uint64_t>;
// A trace entry with this bit set is a write of the block in the other bits
// (written through, and cached as write-allocate caches it); the others are
// reads. Only reads count in hit ratios.
inline constexpr uint64_t kTraceWrite = uint64_t{1} << 63;
inline bool IsWrite(uint64_t entry) { return (entry & kTraceWrite) != 0; }
inline uint64_t BlockOf(uint64_t entry) { return entry & ~kTraceWrite; }

// Zipf-distributed accesses over `blocks` blocks (popularity of rank r ~ 1/r^skew),
// ranks scattered over the block numbers.
Trace ZipfTrace(uint64_t blocks, double skew, uint64_t accesses, uint64_t seed);
// 0, 1, ..., blocks-1, 0, 1, ... : a loop over `blocks` blocks.
Trace LoopTrace(uint64_t blocks, uint64_t accesses);
// A hot set of `hot` blocks read at random, interrupted every `period`
// accesses by a sequential scan of `scan` blocks never read before.
Trace HotSetWithScansTrace(uint64_t hot, uint64_t scan, uint64_t period, uint64_t accesses,
                           uint64_t seed);
// A VM-like mix: 70% Zipf (skew 1.0) over a working set of `working_set` blocks,
// 20% sequential runs of 256 blocks somewhere in a disk of 10 x working_set
// blocks, 10% uniformly random blocks of that disk.
Trace VmMixTrace(uint64_t working_set, uint64_t accesses, uint64_t seed);

// Text form: one decimal block number per line, "w N" for a write of block N
// ('#' lines are comments).
Status WriteTrace(const Trace& trace, const std::string& path);
Result<Trace> ReadTrace(const std::string& path);

}  // namespace wtcachefs::sim
