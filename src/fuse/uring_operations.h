// SPDX-License-Identifier: Apache-2.0
// Serving requests that arrive over FUSE over io_uring from a RequestPool
// instead of the ring thread that received them (DESIGN 2b).
#pragma once

#include "fuse/mirror_fs.h"
#include "fuse/request_pool.h"

namespace wtcachefs {

// The request callbacks of a view served over io_uring and where they run.
struct UringOffload {
  fuse_lowlevel_ops inner;  // the view's own callbacks
  RequestPool* pool;
  // Serves a read in the ring thread when it waits for no origin; false when
  // the read must go to the pool. May be null.
  bool (*read_in_place)(fuse_req_t, fuse_ino_t, size_t, off_t, fuse_file_info*) = nullptr;
};

// Returns the callbacks of `offload.inner` with each one that may wait for IO
// replaced by one that hands the request to `offload.pool` when it arrived
// over io_uring. Such a request's arguments outlive the callback: names and
// payload lie in the ring entry, which stays the request's until its reply,
// and the structures libfuse builds on its stack (fuse_file_info, stat) are
// copied. A request that arrived over /dev/fuse runs in place, since libfuse
// reuses its buffer when the callback returns. init, destroy and the forgets
// (which wait for nothing and get no reply) always run in place.
// The replacements find the view's UringOffload through
// ViewState::uring_offload(), which must be set before the session starts.
fuse_lowlevel_ops OffloadedOperations(const fuse_lowlevel_ops& inner);

// What `req` travelled over.
Transport TransportOf(fuse_req_t req);

}  // namespace wtcachefs
