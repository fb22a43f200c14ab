// SPDX-License-Identifier: Apache-2.0
// The settings `wtcachefs tune VIEW name=value...` changes while mounted:
// sequential_cutoff, promote_after, write_policy and log_level; and one action,
// mrc=reset, which starts the live miss-ratio curve again. Everything else
// (sizes, policy, paths, kernel options) takes a remount.
#pragma once

#include <string>
#include <string_view>

#include "cli/logger.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/options.h"

namespace wtcachefs {

struct Tunable {
  std::string name;  // normalised: underscores
  Options value;     // the one field `name` names is set (none for "mrc")
};

// Parses "name=value"; an error names the option and says what to do.
Result<Tunable> ParseTunable(std::string_view assignment);
// Applies a parsed setting to the running engine and logger.
void ApplyTunable(const Tunable& tunable, CacheEngine& engine, Logger& logger);

}  // namespace wtcachefs
