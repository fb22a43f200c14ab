// SPDX-License-Identifier: Apache-2.0
// `wtcachefs check CACHE [--repair]`: verifies an unmounted cache's metadata
// (cache_dir/cache_check.h) and reports; --repair deletes bad mappings or resets a
// store that cannot be read.
#pragma once

namespace wtcachefs {

// argv[1] is "check". Exit codes: 0 consistent (or repaired), 1 usage, 2 not a
// cache or in use by a mount, 4 problems found and not repaired.
int RunCheckCommand(int argc, char** argv);

}  // namespace wtcachefs
