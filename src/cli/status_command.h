// SPDX-License-Identifier: Apache-2.0
// `wtcachefs status VIEW [--json | --line]`: prints the statistics of a mounted
// view, read from the daemon through the view root's "wtcachefs.status*"
// extended attributes.
#pragma once

namespace wtcachefs {

// argv[0] is the program, argv[1] is "status". Returns the exit code.
int RunStatusCommand(int argc, char** argv);

}  // namespace wtcachefs
