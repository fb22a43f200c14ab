// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/clock.h"

namespace wtcachefs {

const Clock& SystemClock() {
  class SteadyClock final : public Clock {
   public:
    TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  };
  static const SteadyClock clock;
  return clock;
}

}  // namespace wtcachefs
