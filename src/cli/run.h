// SPDX-License-Identifier: Apache-2.0
// The whole wtcachefs command: parse, check, daemonize, mount and serve.
#pragma once

#include <functional>
#include <memory>

#include "wtcachefs/io_backend.h"

namespace wtcachefs {

// Makes the IO backend the daemon uses; called in the serving process.
using IoBackendFactory = std::function<Result<std::unique_ptr<IoBackend>>()>;

// Returns the process exit code (see cli/exit_codes.h and wtcachefs(8)). Tests
// build a binary that passes a fault-injecting backend; wtcachefs uses io_uring.
int RunWtcachefs(int argc, char** argv,
                 const IoBackendFactory& make_io = [] { return MakeUringBackend(); });

}  // namespace wtcachefs
