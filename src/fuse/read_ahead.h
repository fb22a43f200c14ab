// SPDX-License-Identifier: Apache-2.0
// The kernel's read-ahead for the view. FUSE starts every mount at 128 KiB, and
// a FUSE server may only lower that in its INIT reply; sequential reads through
// the view then travel in 128 KiB requests with little overlap. The mount's
// backing device info in sysfs (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb) takes
// a larger window, as for a disk. Root only; the kernel still ramps the window
// up only for sequential readers.
#pragma once

#include <cstdint>
#include <string>

#include "wtcachefs/status.h"

namespace wtcachefs {

// The sysfs file holding the read-ahead (KiB) of the mount at `view`:
// /sys/class/bdi/MAJOR:MINOR/read_ahead_kb; empty when `view` is not mounted.
std::string ReadAheadKnob(const std::string& view);

// Sets the read-ahead of the FUSE mount at `view` to `bytes` (rounded down to
// KiB). Call only once the kernel has processed the INIT reply (from a request
// after it): INIT would otherwise lower the window again.
Status SetViewReadAhead(const std::string& view, uint64_t bytes);

}  // namespace wtcachefs
