// SPDX-License-Identifier: Apache-2.0
#include "support/uring_switch.h"

#include <fstream>

#include "fuse/fuse_features.h"
#include "wtcachefs/transport.h"

namespace wtcachefs::testing {
namespace {

bool Write(const std::string& value) {
  std::ofstream out(kFuseUringSwitch);
  out << value << "\n";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

UringSwitch::UringSwitch(bool on) {
  if (!kLibfuseHasUring) {
    reason_ = "wtcachefs was built against a libfuse without FUSE over io_uring";
    return;
  }
  std::ifstream in(kFuseUringSwitch);
  if (!(in >> saved_)) {
    reason_ = std::string("this kernel has no FUSE over io_uring (no ") + kFuseUringSwitch + ")";
    return;
  }
  if (!Write(on ? "1" : "0")) {
    reason_ = std::string("cannot write ") + kFuseUringSwitch + " (not root?)";
    saved_.clear();
  }
}

UringSwitch::~UringSwitch() {
  if (!saved_.empty()) Write(saved_ == "Y" || saved_ == "1" ? "1" : "0");
}

}  // namespace wtcachefs::testing
