// SPDX-License-Identifier: Apache-2.0
// The crash soak's counters: what one run did, summed over runs in a small
// text file (one "name value..." line each) that a run reads at start and
// rewrites after every point, so a soak can stop and resume.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace wtcachefs::crash_soak {

// How warm remounts came back: the view's used_blocks right after a remount
// over its used_blocks right before the kill (or the clean unmount).
struct WarmthTally {
  uint64_t measured = 0;       // remounts with blocks cached before
  uint64_t blocks_before = 0;  // summed over them
  uint64_t blocks_after = 0;
  uint64_t min_permille = 1000;  // the coldest one; 1000 while none
  // How many came back with each whole percent (100: all, or more).
  std::array<uint64_t, 101> by_percent{};

  void Add(uint64_t before, uint64_t after);
  void Merge(const WarmthTally& other);
  // The median remount's percent (from by_percent).
  uint64_t MedianPercent() const;
};

struct SoakCounters {
  uint64_t points = 0;  // kill points, each checked after its remount
  uint64_t kills_directory = 0;
  uint64_t kills_image = 0;
  uint64_t remounts = 0;            // after a kill or a clean unmount, each checked
  uint64_t clean_unmounts = 0;      // the daemon exited 0
  uint64_t mismatches = 0;          // data that differed
  uint64_t other_failures = 0;      // errors, hangs, failed mounts or unmounts
  uint64_t stuck_after_kill = 0;    // daemons alive 5 s after SIGKILL, their connection aborted
  uint64_t syncs_checked = 0;       // fsync/fdatasync acknowledged, their writes checked
  uint64_t writes_checked = 0;      // writes acknowledged through the view, checked
  uint64_t origin_changes = 0;      // changes made on origin behind the mount
  uint64_t milliseconds = 0;        // spent in points and clean cycles
  WarmthTally warmth_directory;     // after a kill
  WarmthTally warmth_image;         // after a kill, the image the view's alone
  WarmthTally warmth_image_shared;  // after a kill, the image changed behind the mount too
  WarmthTally warmth_clean;         // after a clean unmount, both modes

  void Merge(const SoakCounters& other);
};

// Reads `path` into `counters` (zero when it does not exist). "" or what failed.
std::string LoadCounters(const std::string& path, SoakCounters* counters);
// Rewrites `path` atomically. "" or what failed.
std::string SaveCounters(const std::string& path, const SoakCounters& counters);
// The summary lines: this run's counts with the totals in parentheses.
std::string FormatSummary(const SoakCounters& run, const SoakCounters& total);

}  // namespace wtcachefs::crash_soak
