// SPDX-License-Identifier: Apache-2.0
#include "engine/racy_fingerprint.h"

#include <time.h>

#include <algorithm>
#include <limits>

namespace wtcachefs {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
// Two seconds, aligned to even seconds: SFTP's and ext3's whole seconds, and
// FAT's two-second modification times.
constexpr int64_t kCoarseTickNs = 2 * kSecondNs;

int64_t FloorTo(int64_t value, int64_t step) {
  const int64_t q = value / step;
  return (value % step < 0 ? q - 1 : q) * step;
}

}  // namespace

int64_t OriginClockNs() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * kSecondNs + ts.tv_nsec;
}

bool HasCoarseTimestamps(const Fingerprint& fingerprint) {
  return fingerprint.mtime_ns % kSecondNs == 0 && fingerprint.ctime_ns % kSecondNs == 0;
}

bool IsRacy(const Fingerprint& fingerprint, int64_t taken_ns) {
  if (!HasCoarseTimestamps(fingerprint)) return false;
  const int64_t latest = std::max(fingerprint.mtime_ns, fingerprint.ctime_ns);
  const int64_t tick_end = FloorTo(latest, kCoarseTickNs) + kCoarseTickNs;
  return taken_ns < tick_end + kOriginClockSkewNs;
}

Fingerprint Smudged(Fingerprint fingerprint) {
  // No file has a change time in 1677 (the least nanosecond count).
  fingerprint.ctime_ns = std::numeric_limits<int64_t>::min();
  return fingerprint;
}

}  // namespace wtcachefs
