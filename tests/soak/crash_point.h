// SPDX-License-Identifier: Apache-2.0
// One crash point, and the clean unmount the soak makes now and then.
//
// A kill point: warm the view by reading, start the writers (through the view
// and on origin behind it), SIGKILL the daemon after 20-500 ms, detach the
// dead mount, stop the writers, mount the same ORIGIN and CACHE again, and
// check (SoakTarget::Check). `used_blocks` is read right before the kill and
// right after the remount: how warm the cache came back.
//
// A clean cycle: warm, the same writers for 20-200 ms (an image not shared
// with the origin writer), stopped; unmount as a user does (the daemon must exit 0),
// mount again and check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crash_rig.h"
#include "crash_targets.h"

namespace wtcachefs::crash_soak {

struct PointResult {
  // "" when everything passed; else what went wrong, for the report.
  std::string failure;
  // The failure is a difference in the data (else wtcachefs misbehaved
  // otherwise: an error, a hang, a failed mount or unmount).
  bool mismatch = false;
  std::optional<uint64_t> used_blocks_before;
  std::optional<uint64_t> used_blocks_after;
  WriterTally writers;
  // Not "" when the daemon outlived SIGKILL (DaemonMount::Kill): what was stuck.
  std::string stuck_after_kill;
};

// `share_origin` as for SoakTarget::StartWriters.
PointResult RunKillPoint(SoakTarget& target, uint64_t seed, bool share_origin, Watchdog& watchdog);
PointResult RunCleanCycle(SoakTarget& target, uint64_t seed, Watchdog& watchdog);

}  // namespace wtcachefs::crash_soak
