// SPDX-License-Identifier: Apache-2.0
#include "cli/view_control.h"

#include <cerrno>
#include <charconv>

#include "cli/tunables.h"
#include "wtcachefs/mrc_report.h"
#include "wtcachefs/status_report.h"

namespace wtcachefs {
namespace {

// "OFFSET LENGTH", two decimal numbers.
bool ParseRange(std::string_view text, uint64_t& offset, uint64_t& length) {
  const char* end = text.data() + text.size();
  auto [after_offset, e1] = std::from_chars(text.data(), end, offset);
  if (e1 != std::errc() || after_offset == end || *after_offset != ' ') return false;
  auto [after_length, e2] = std::from_chars(after_offset + 1, end, length);
  return e2 == std::errc() && after_length == end;
}

// The snapshot's transport and its note.
StatusSnapshot SnapshotOver(Transport transport) {
  StatusSnapshot snapshot;
  snapshot.transport = transport;
  if (transport == Transport::kDevFuse) {
    const TransportAvailability uring = UringAvailability();
    snapshot.transport_note =
        uring.io_uring ? "io_uring is available on this host (it was off at mount, or -o "
                         "transport=dev_fuse asked for /dev/fuse): remount to use it"
                       : uring.reason;
  }
  return snapshot;
}

std::optional<std::string> Render(std::string_view name, const StatusSnapshot& snapshot) {
  if (name == "wtcachefs.mrc" || name == "wtcachefs.mrc.json") {
    if (snapshot.mrc) {
      return name == "wtcachefs.mrc" ? RenderMrcTable(*snapshot.mrc) : RenderMrcJson(*snapshot.mrc);
    }
    // Served uncached: no cache, no curve.
    const std::string why = "the view serves the origin uncached: " + snapshot.degraded_reason;
    return name == "wtcachefs.mrc"
               ? "no miss-ratio curve: " + why + "\n"
               : "{\"points\":[],\"degraded_reason\":" + JsonString(snapshot.degraded_reason) +
                     "}\n";
  }
  if (name == "wtcachefs.status") return RenderStatusTable(snapshot);
  if (name == "wtcachefs.status.json") return RenderStatusJson(snapshot);
  if (name == "wtcachefs.status.line") return RenderStatusLine(snapshot);
  return std::nullopt;
}

}  // namespace

ViewControl MakeViewControl(CacheEngine& cache, Logger& log) {
  ViewControl control;
  control.read = [&cache](std::string_view name,
                          Transport transport) -> std::optional<std::string> {
    StatusSnapshot snapshot = SnapshotOver(transport);
    snapshot.total = cache.stats();
    // One reading of the totals for every window, so that none exceeds them.
    snapshot.last_5_min = cache.recent_stats(snapshot.total, std::chrono::minutes(5));
    snapshot.last_hour = cache.recent_stats(snapshot.total, std::chrono::hours(1));
    snapshot.last_day = cache.recent_stats(snapshot.total, std::chrono::hours(24));
    snapshot.block_size = cache.block_size();
    if (snapshot.total.degraded) snapshot.degraded_reason = cache.degraded_reason();
    snapshot.mrc = cache.miss_ratio_curve();
    return Render(name, snapshot);
  };
  control.command = [&cache, &log](std::string_view name, std::string_view value,
                                   int origin_fd) -> int {
    if (name == "wtcachefs.tune") {
      auto tunable = ParseTunable(value);
      if (!tunable.ok()) return tunable.status().error();
      ApplyTunable(tunable.value(), cache, log);
      return 0;
    }
    if (name == "wtcachefs.invalidate") return cache.Invalidate(origin_fd).error();
    if (name == "wtcachefs.warm") {
      if (origin_fd < 0) return EISDIR;
      uint64_t offset = 0;
      uint64_t length = 0;
      if (!ParseRange(value, offset, length)) return EINVAL;
      auto warmed = cache.Warm(origin_fd, offset, length);
      return warmed.ok() ? 0 : warmed.status().error();
    }
    return ENOTSUP;
  };
  control.warn = [&log](const std::string& message) { log.Warn(message); };
  return control;
}

ViewControl MakeUncachedViewControl(const OriginOnlyEngine& engine, Logger& log) {
  ViewControl control;
  control.read = [&engine](std::string_view name,
                           Transport transport) -> std::optional<std::string> {
    StatusSnapshot snapshot = SnapshotOver(transport);
    snapshot.total.degraded = true;
    snapshot.degraded_reason = engine.reason();
    return Render(name, snapshot);
  };
  control.command = [](std::string_view name, std::string_view value, int origin_fd) -> int {
    (void)value;
    (void)origin_fd;
    // Nothing is cached: nothing to drop; nothing can be warmed or tuned.
    if (name == "wtcachefs.invalidate") return 0;
    if (name == "wtcachefs.warm" || name == "wtcachefs.tune") return EROFS;
    return ENOTSUP;
  };
  control.warn = [&log](const std::string& message) { log.Warn(message); };
  return control;
}

}  // namespace wtcachefs
