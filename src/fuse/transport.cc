// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/transport.h"

#include <fstream>

#include "fuse/fuse_features.h"

namespace wtcachefs {

TransportAvailability UringAvailability(const std::string& switch_path) {
  if (!kLibfuseHasUring) {
    return {false,
            "this wtcachefs was built against a libfuse without FUSE over io_uring (it needs "
            "libfuse 3.18 built with liburing and libnuma: run scripts/install-libfuse.sh, "
            "then rebuild)"};
  }
  std::ifstream in(switch_path);
  std::string value;
  if (!(in >> value)) {
    return {false, "this kernel has no FUSE over io_uring (" + switch_path +
                       " is missing: it needs Linux 6.14 or later built with "
                       "CONFIG_FUSE_IO_URING)"};
  }
  if (value != "Y" && value != "1") {
    return {false, "FUSE over io_uring is off on this host (" + switch_path + " is " + value +
                       "): to turn it on for every FUSE file system, see wtcachefs(8), "
                       "TRANSPORT"};
  }
  return {true, {}};
}

}  // namespace wtcachefs
