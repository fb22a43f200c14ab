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
// reads, commands; its handlers may be empty).
ServeResult ServeView(const Options& options, DataEngine& engine,
                      std::optional<ImageOrigin> image, const std::function<void()>& on_mounted,
                      ViewControl control);

}  // namespace wtcachefs
