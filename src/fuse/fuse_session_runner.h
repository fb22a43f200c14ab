// Mounts MirrorFs at Options::view and serves requests until unmounted
// (fusermount3 -u, umount) or signalled (SIGINT, SIGTERM, SIGHUP).
//
// Thread safety: call from one thread; it blocks while serving.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

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
// `control` answers the view root's "wtcachefs.*" attributes (may be empty).
ServeResult ServeMirror(const Options& options, DataEngine& engine,
                        const std::function<void()>& on_mounted,
                        std::function<std::optional<std::string>(std::string_view)> control);

}  // namespace wtcachefs
