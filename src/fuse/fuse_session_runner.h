// SPDX-License-Identifier: Apache-2.0
// Mounts MirrorFs at Options::view and serves requests until unmounted
// (fusermount3 -u, umount) or signalled (SIGINT, SIGTERM, SIGHUP).
//
// Thread safety: call from one thread; it blocks while serving.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fuse/image_fs.h"
#include "wtcachefs/data_engine.h"
#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

enum class ServeFailure { kNone, kSetup, kMount, kServe };

struct ServeResult {
  ServeFailure failure = ServeFailure::kNone;
  Status status;
};

// Serves VIEW: the mirror of an origin directory, or with `image` the one-file
// view of an image origin. `on_mounted` runs once the mount is in place, before
// requests are served. `control` answers the "wtcachefs.*" attributes (status
// reads, commands; its handlers may be empty). `transport`: how requests are to
// travel, resolved from options.transport (ResolveTransport); under io_uring
// they are served by a pool of options.max_threads threads, so that no ring
// thread waits for IO (DESIGN 2b).
ServeResult ServeView(const Options& options, Transport transport, DataEngine& engine,
                      std::optional<ImageOrigin> image, const std::function<void()>& on_mounted,
                      ViewControl control);

// The transport a mount with `choice` uses, given what this host offers. Over
// /dev/fuse for auto, `note` says why not io_uring and how to turn it on. An
// error when io_uring was asked for and cannot be had.
struct ResolvedTransport {
  Transport transport = Transport::kDevFuse;
  std::string note;
};
Result<ResolvedTransport> ResolveTransport(TransportChoice choice,
                                           const TransportAvailability& available);

}  // namespace wtcachefs
