// SPDX-License-Identifier: Apache-2.0
// OperationGenerator: draws the model test's random operations from a seed.
// Paths come from a small pool of names in a few nested directories so that
// collisions and errors are frequent; offsets cluster around the 64 KiB cache
// block boundaries. The sequence depends only on the seed, never on outcomes,
// so a seed replays a run exactly.
//
// Thread safety: none; one thread owns a generator.
#pragma once

#include <time.h>

#include <cstdint>
#include <random>
#include <string>

#include "integration/model_ops.h"

namespace wtcachefs::testing {

class OperationGenerator {
 public:
  explicit OperationGenerator(uint64_t seed) : rng_(seed) {}
  Operation Next();

 private:
  uint64_t Below(uint64_t n) { return rng_() % n; }
  bool Chance(int percent) { return static_cast<int>(Below(100)) < percent; }
  std::string RandomPath(bool directory);
  off_t RandomOffset();
  size_t RandomLength();
  struct timespec RandomTime(bool allow_special);

  std::mt19937_64 rng_;
};

}  // namespace wtcachefs::testing
