// SPDX-License-Identifier: Apache-2.0
// Renders engine statistics for `wtcachefs status`: a human table, one line (like
// `dmsetup status`), and JSON. Pure functions over plain values.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wtcachefs/engine_stats.h"
#include "wtcachefs/miss_ratio_curve.h"
#include "wtcachefs/transport.h"

namespace wtcachefs {

struct StatusSnapshot {
  EngineStats total;        // since the cache was created
  EngineStats last_5_min;   // increases over recent windows
  EngineStats last_hour;
  EngineStats last_day;
  uint32_t block_size = 0;
  // What the status request travelled over: the view's transport.
  Transport transport = Transport::kDevFuse;
  // Over /dev/fuse: why not io_uring and what to do (shown by the table).
  std::string transport_note;
  // In degraded mode: why the cache is not used (the table and JSON show it).
  std::string degraded_reason;
  // The live miss-ratio curve: the table gives its advice, the line its
  // fields (absent for a view serving origin uncached).
  std::optional<MrcSnapshot> mrc;
};

std::string RenderStatusTable(const StatusSnapshot& s);
// "mode=normal block_size=65536 used_blocks=12 total_blocks=1024
// index_memory_bytes=25088 space_limit_blocks=1024 read_hits=... " on one line; the field names are
// the counter names (documented in wtcachefs(8)).
std::string RenderStatusLine(const StatusSnapshot& s);
std::string RenderStatusJson(const StatusSnapshot& s);
// `text` as a JSON string, quotes included.
std::string JsonString(std::string_view text);

}  // namespace wtcachefs
