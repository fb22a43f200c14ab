// SPDX-License-Identifier: Apache-2.0
#include "cli/tunables.h"

#include <algorithm>
#include <array>
#include <cerrno>

#include "cli/mount_options.h"

namespace wtcachefs {
namespace {

constexpr std::array<std::string_view, 4> kTunables = {"sequential_cutoff", "promote_after",
                                                       "write_policy", "log_level"};

}  // namespace

Result<Tunable> ParseTunable(std::string_view assignment) {
  const size_t eq = assignment.find('=');
  std::string name(assignment.substr(0, eq));
  std::replace(name.begin(), name.end(), '-', '_');
  if (eq == std::string_view::npos) {
    return Status::Error(EINVAL, "'" + std::string(assignment) + "' is not name=value: "
                                 "give e.g. sequential_cutoff=8M");
  }
  if (name == "mrc") {
    if (assignment.substr(eq + 1) != "reset") {
      return Status::Error(EINVAL, "'" + std::string(assignment) +
                                       "': the miss-ratio curve takes mrc=reset (start it "
                                       "again from nothing)");
    }
    return Tunable{name, Options{}};
  }
  if (std::find(kTunables.begin(), kTunables.end(), name) == kTunables.end()) {
    return Status::Error(EINVAL, "option " + name +
                                     " cannot be changed while mounted: "
                                     "remount with it; tune sequential_cutoff, promote_after, "
                                     "write_policy or log_level, or give mrc=reset");
  }
  // One setting per assignment: a comma would smuggle in options (policy=...)
  // that tune would then silently ignore.
  const std::string option = name + "=" + std::string(assignment.substr(eq + 1));
  if (SplitMountOptions(option).size() != 1) {
    return Status::Error(EINVAL, "'" + std::string(assignment) +
                                     "' holds more than one setting: give each as its own "
                                     "NAME=VALUE argument");
  }
  Tunable tunable{name, Options{}};
  if (Status s = ApplyMountOptions(option, tunable.value); !s.ok()) return s;
  return tunable;
}

void ApplyTunable(const Tunable& tunable, CacheEngine& engine, Logger& logger) {
  if (tunable.name == "sequential_cutoff") {
    engine.SetSequentialCutoff(tunable.value.sequential_cutoff);
  } else if (tunable.name == "promote_after") {
    engine.SetPromoteAfter(tunable.value.promote_after);
  } else if (tunable.name == "write_policy") {
    engine.SetWriteAllocate(tunable.value.write_allocate);
  } else if (tunable.name == "log_level") {
    logger.set_level(tunable.value.log_level);
  } else if (tunable.name == "mrc") {
    engine.ResetMissRatioCurve();
    logger.Info("miss-ratio curve reset");
    return;
  }
  logger.Info("tuned " + tunable.name);
}

}  // namespace wtcachefs
