// SPDX-License-Identifier: Apache-2.0
#pragma once

struct fuse_session;  // libfuse

namespace wtcachefs {

// SIGINT, SIGTERM and SIGHUP end the FUSE loop of one session, whichever thread
// the kernel delivers them to.
//
// libfuse's own handlers only raise the session's exit flag. The loop thread sleeps
// until a signal interrupts it or a worker returns, so a signal taken by an engine or
// RocksDB thread would leave the flag raised and the daemon serving. Our handler
// raises the flag and, when it runs on another thread, forwards the signal to the
// loop thread, whose sleep it then interrupts.
//
// Install() must be called on the thread that runs the loop, before the view is
// mounted. The handlers stay in place for the life of the process: after Release()
// a stop signal is ignored, so a shutdown already under way is not cut short.
// SIGPIPE is ignored from Install() on (a closed /dev/fuse must not kill us).
class StopSignals {
 public:
  // Blocks the stop signals on the calling thread, so that threads it starts (the
  // engine's, RocksDB's) never take them. Install() unblocks them on the loop
  // thread; one that arrived in between is then handled.
  static void BlockForStartup();
  static int Install(fuse_session* session);  // 0, or -errno
  static void Release();
};

}  // namespace wtcachefs
