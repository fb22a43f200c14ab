// SPDX-License-Identifier: Apache-2.0
// Exit codes of the wtcachefs command; documented in wtcachefs(8).
#pragma once

namespace wtcachefs {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,      // bad command line: unknown option, wrong arguments, bad value
  kExitBadPath = 2,    // ORIGIN, CACHE or VIEW missing, wrong type, nested or unwritable
  kExitMountFailed = 3,  // the kernel mount failed (no /dev/fuse, not permitted, ...)
  kExitRuntime = 4,    // the daemon failed after mounting, or an internal error
};

}  // namespace wtcachefs
