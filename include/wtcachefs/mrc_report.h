// SPDX-License-Identifier: Apache-2.0
// Renders the live miss-ratio curve (wtcachefs/miss_ratio_curve.h) for
// `wtcachefs status --mrc`: a table with a bar per size, JSON, the fields the
// status line carries (and Prometheus reads), and the one sentence the plain
// status prints when a larger cache would serve many more reads.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "wtcachefs/miss_ratio_curve.h"

namespace wtcachefs {

std::string RenderMrcTable(const MrcSnapshot& s);
// {"policy":"arc","sampling_rate":...,"sampled_blocks":...,"memory_bytes":...,
//  "points":[{"cache_bytes":...,"hit_ratio":...,"lru_hit_ratio":...},...],...}
std::string RenderMrcJson(const MrcSnapshot& s);
// " mrc_policy=arc mrc_sampling_rate=... mrc_hit_ratio_<cache bytes>=0.52 ...":
// fields for the status line, each preceded by a space.
std::string RenderMrcLineFields(const MrcSnapshot& s);
// "a cache of 8.0 GiB would have served 81% of reads instead of 52%" when a
// size the curve covers would raise the policy's hit ratio by more than ten
// points (the smallest size within two points of the best); "" otherwise, or
// while the curve has seen too few reads to say.
std::string MrcAdvice(const MrcSnapshot& s);

}  // namespace wtcachefs
