// SPDX-License-Identifier: Apache-2.0
// What the libfuse this binary is built against can do, as CMake found it.
#pragma once

namespace wtcachefs {

// libfuse >= 3.18 built with FUSE over io_uring (liburing and libnuma).
#ifdef WTCACHEFS_FUSE_HAS_URING
inline constexpr bool kLibfuseHasUring = true;
#else
inline constexpr bool kLibfuseHasUring = false;
#endif

}  // namespace wtcachefs
