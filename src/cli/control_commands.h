// SPDX-License-Identifier: Apache-2.0
// `wtcachefs invalidate VIEW [PATH...]`, `wtcachefs warm PATH...` and
// `wtcachefs tune VIEW NAME=VALUE...`: commands to
// the daemon serving a view, sent as writes of its "wtcachefs.*" attributes
// (see cli/view_control.h).
#pragma once

namespace wtcachefs {

// Drops the cached blocks of the given files in VIEW, or all of VIEW's cache.
// argv[1] is "invalidate". Returns an exit code.
int RunInvalidateCommand(int argc, char** argv);
// Changes settings of a mounted view: `wtcachefs tune VIEW NAME=VALUE...`
// (cli/tunables.h says which). argv[1] is "tune".
int RunTuneCommand(int argc, char** argv);
// Reads the given files (directories: every file below them) into the cache,
// with a progress bar when standard error is a terminal. argv[1] is "warm".
int RunWarmCommand(int argc, char** argv);

}  // namespace wtcachefs
