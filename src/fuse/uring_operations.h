// SPDX-License-Identifier: Apache-2.0
// Serving requests that arrive over FUSE over io_uring from a RequestPool
// instead of the ring thread that received them (DESIGN 2b).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "fuse/mirror_fs.h"
#include "fuse/request_pool.h"

namespace wtcachefs {

// Requests whose reply an IO completion sends (WriteWithoutWaiting): counted,
// so that the session waits for their replies before the view and the engine
// they use go away.
class RequestsInFlight {
 public:
  // False once closed: the request must then be served in the calling thread.
  bool Begin();
  void End();
  // Refuses new requests and waits until none is in flight.
  void CloseAndWait();

 private:
  std::mutex mutex_;
  std::condition_variable ended_;
  uint64_t count_ = 0;   // GUARDED_BY(mutex_)
  bool closed_ = false;  // GUARDED_BY(mutex_)
};

// The request callbacks of a view served over io_uring and where they run.
struct UringOffload {
  fuse_lowlevel_ops inner;  // the view's own callbacks
  RequestPool* pool;
  RequestsInFlight* in_flight;
  // Serve a read or a write from the ring thread when it waits for nothing
  // but its own IO, the reply coming from the IO's completion (a read that
  // hits: at once); false when the request must go to the pool. Either may be
  // null.
  bool (*read_in_place)(fuse_req_t, fuse_ino_t, size_t, off_t, fuse_file_info*,
                        RequestsInFlight&) = nullptr;
  bool (*write_in_place)(fuse_req_t, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*,
                         RequestsInFlight&) = nullptr;
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
