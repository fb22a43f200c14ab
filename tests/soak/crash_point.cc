// SPDX-License-Identifier: Apache-2.0
#include "crash_point.h"

#include <cstring>
#include <random>
#include <thread>

namespace wtcachefs::crash_soak {
namespace {

// Far more than any phase takes on a loaded two-CPU machine.
constexpr std::chrono::seconds kPhaseLimit(120);

std::chrono::milliseconds Between(std::mt19937_64& random, int low_ms, int high_ms) {
  return std::chrono::milliseconds(low_ms + static_cast<int>(random() % (high_ms - low_ms + 1)));
}

std::string Describe(const WriterError& error) {
  return error.what + ": " + std::strerror(error.error);
}

// Ends the watched phase; false (with `result->failure` set) if it hung.
bool EndPhase(Watchdog& watchdog, PointResult* result) {
  watchdog.Disarm();
  if (std::optional<std::string> phase = watchdog.TakeExpired()) {
    result->failure = "wtcachefs hung: " + *phase + " did not finish within " +
                      std::to_string(kPhaseLimit.count()) + " s (the daemon was killed)";
    return false;
  }
  return true;
}

// Mounts again and checks. `result->failure` says what failed, if anything.
void RemountAndCheck(SoakTarget& target, Watchdog& watchdog, PointResult* result) {
  if (std::string failure = target.daemon().Mount(); !failure.empty()) {
    result->failure = "remount failed: " + failure;
    return;
  }
  watchdog.Arm("checking after the remount", target.daemon().pid(), kPhaseLimit);
  OpenEveryFileAndWaitForRecovery(target.view());
  result->used_blocks_after = UsedBlocks(target.view());
  const std::optional<Mismatch> mismatch = target.Check();
  const std::string after_check = mismatch ? std::string() : target.AfterCheck();
  if (!EndPhase(watchdog, result)) return;
  if (!result->used_blocks_after) {
    result->failure = "cannot read the status of " + target.view() + " after the remount";
  } else if (mismatch) {
    result->mismatch = true;
    result->failure = mismatch->file + " differs at offset " + std::to_string(mismatch->offset) +
                      ": " + mismatch->what;
  } else if (!after_check.empty()) {
    result->failure = after_check;
  }
}

}  // namespace

PointResult RunKillPoint(SoakTarget& target, uint64_t seed, bool share_origin, Watchdog& watchdog) {
  PointResult result;
  std::mt19937_64 random(seed);
  watchdog.Arm("warming the view", target.daemon().pid(), kPhaseLimit);
  const std::string warm_failure = target.Warm();
  if (warm_failure.empty()) {
    target.StartWriters(random(), share_origin);
    std::this_thread::sleep_for(Between(random, 20, 500));
    result.used_blocks_before = UsedBlocks(target.view());
  }
  if (!EndPhase(watchdog, &result)) {
    (void)target.daemon().Kill();
    result.writers = target.StopWriters();
    return result;
  }
  const SteadyClock::time_point kill_time = SteadyClock::now();
  result.stuck_after_kill = target.daemon().Kill();
  result.writers = target.StopWriters();
  if (!warm_failure.empty()) {
    result.failure = "warming failed: " + warm_failure;
  } else if (result.writers.first_error && result.writers.first_error->when < kill_time) {
    result.failure = "failed while the daemon was alive: " + Describe(*result.writers.first_error);
  } else if (!result.used_blocks_before) {
    result.failure = "cannot read the status of " + target.view() + " before the kill";
  }
  if (result.failure.empty()) RemountAndCheck(target, watchdog, &result);
  return result;
}

PointResult RunCleanCycle(SoakTarget& target, uint64_t seed, Watchdog& watchdog) {
  PointResult result;
  std::mt19937_64 random(seed);
  watchdog.Arm("writing before a clean unmount", target.daemon().pid(), kPhaseLimit);
  if (std::string failure = target.Warm(); !failure.empty()) {
    result.failure = "warming failed: " + failure;
    EndPhase(watchdog, &result);
    return result;
  }
  target.StartWriters(random(), /*share_origin=*/false);
  std::this_thread::sleep_for(Between(random, 20, 200));
  result.writers = target.StopWriters();
  result.used_blocks_before = UsedBlocks(target.view());
  if (!EndPhase(watchdog, &result)) return result;
  if (result.writers.first_error) {
    result.failure = "failed while the daemon was alive: " + Describe(*result.writers.first_error);
    return result;
  }
  if (!result.used_blocks_before) {
    result.failure = "cannot read the status of " + target.view() + " before the unmount";
    return result;
  }
  if (std::string failure = target.daemon().UnmountCleanly(); !failure.empty()) {
    result.failure = "clean unmount failed: " + failure;
    return result;
  }
  RemountAndCheck(target, watchdog, &result);
  return result;
}

}  // namespace wtcachefs::crash_soak
