// SPDX-License-Identifier: Apache-2.0
// Clock: the engine's source of time, injectable so tests need no sleeps.
//
// Thread safety: Now() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace wtcachefs {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// `t` as a count of nanoseconds since the clock's epoch.
inline int64_t NanosecondsOf(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The steady system clock.
const Clock& SystemClock();

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(std::chrono::nanoseconds(now_ns_.load())); }
  void Advance(std::chrono::nanoseconds by) { now_ns_ += by.count(); }

 private:
  std::atomic<int64_t> now_ns_{0};
};

}  // namespace wtcachefs
