// SPDX-License-Identifier: Apache-2.0
// The wtcachefs command line (CLI11):
//   wtcachefs ORIGIN CACHE VIEW [options]            direct form
//   wtcachefs ORIGIN VIEW -o cache=CACHE[,opts]      mount-helper form (mount.fuse3, fstab)
//
// Thread safety: call from main() only.
#pragma once

#include <optional>

#include "wtcachefs/options.h"

namespace wtcachefs {

// Fills `options` from argv. Returns an exit code when the program should stop
// now (--help, --version, or a usage error already printed as one line).
std::optional<int> ParseCommandLine(int argc, const char* const* argv, Options& options);

}  // namespace wtcachefs
