// SPDX-License-Identifier: Apache-2.0
// How FUSE requests travel between the kernel and the daemon: the classic
// /dev/fuse read and write calls, or FUSE over io_uring (Linux >= 6.14, libfuse
// >= 3.18), whose per-CPU queues carry requests and replies without a system
// call pair per request. The kernel offers io_uring only while the host's
// switch /sys/module/fuse/parameters/enable_uring is on, read at each mount.
#pragma once

#include <string>
#include <string_view>

namespace wtcachefs {

enum class Transport { kDevFuse, kIoUring };
// What the user asked for (-o transport=, --transport).
enum class TransportChoice { kAuto, kIoUring, kDevFuse };

// "io_uring" or "dev_fuse", as status and the transport option spell them.
inline std::string_view TransportName(Transport transport) {
  return transport == Transport::kIoUring ? "io_uring" : "dev_fuse";
}

// The host's switch; the kernel reads it at each mount.
inline constexpr const char* kFuseUringSwitch = "/sys/module/fuse/parameters/enable_uring";

// Whether a mount can be served over io_uring, and if not, why and what to do.
struct TransportAvailability {
  bool io_uring = false;
  std::string reason;  // empty when io_uring is available
};
// Looks at the libfuse this binary was built with and at `switch_path` (the
// host's switch, or a stand-in in tests).
TransportAvailability UringAvailability(const std::string& switch_path = kFuseUringSwitch);

}  // namespace wtcachefs
