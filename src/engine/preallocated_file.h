// SPDX-License-Identifier: Apache-2.0
// The files in CACHE that are allocated up front (the slot file and the
// checksum file): created mode 0600, since they hold or describe copies of
// other users' data, and sized before use so that the cache never fails an
// operation for lack of room (DESIGN W7).
#pragma once

#include <sys/types.h>

#include <string>

#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

// Opens or creates `path`, tightens its mode to 0600 and allocates `size`
// bytes. `what` names the file in errors ("the cache slot file").
Result<UniqueFd> OpenPreallocated(const std::string& path, off_t size, const std::string& what);
// Cuts the file at `fd` to `size` bytes if it is longer (a cache made smaller).
Status TrimTo(int fd, off_t size, const std::string& what);

}  // namespace wtcachefs
