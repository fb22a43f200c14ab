// SPDX-License-Identifier: Apache-2.0
// How a cache takes room on the file system of its directory.
#pragma once

namespace wtcachefs {

enum class CacheSpace {
  // The slot and checksum files are allocated at their full size at mount, and
  // a mount whose file system lacks the room is refused before anything is
  // allocated (a size given with --cache-size).
  kReserved,
  // The files are sparse: room is taken as blocks are cached, only while the
  // file system keeps its free-space floor, and given back when it has less
  // (engine/space_guard.h; the default size).
  kElastic,
};

}  // namespace wtcachefs
