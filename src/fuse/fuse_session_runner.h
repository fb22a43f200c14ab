// Mounts MirrorFs at Options::view and serves requests until unmounted
// (fusermount3 -u, umount) or signalled (SIGINT, SIGTERM, SIGHUP).
//
// Thread safety: call from one thread; it blocks while serving.
#pragma once

#include <functional>

#include "wtcachefs/data_engine.h"
#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

enum class ServeFailure { kNone, kSetup, kMount, kServe };

struct ServeResult {
  ServeFailure failure = ServeFailure::kNone;
  Status status;
};

// `on_mounted` runs once the mount is in place, before requests are served.
ServeResult ServeMirror(const Options& options, DataEngine& engine,
                        const std::function<void()>& on_mounted);

}  // namespace wtcachefs
