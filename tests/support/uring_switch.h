// SPDX-License-Identifier: Apache-2.0
// UringSwitch: sets the host's FUSE over io_uring switch
// (/sys/module/fuse/parameters/enable_uring) for a test and restores what it
// was on destruction, even when the test fails. The kernel reads the switch
// at each mount, so it decides the transport of the mounts made meanwhile.
#pragma once

#include <string>

namespace wtcachefs::testing {

class UringSwitch {
 public:
  explicit UringSwitch(bool on);
  ~UringSwitch();
  UringSwitch(const UringSwitch&) = delete;
  UringSwitch& operator=(const UringSwitch&) = delete;

  // False when the switch could not be set (no such kernel, not root): why.
  bool ok() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }

 private:
  std::string saved_;   // the value before, restored on destruction
  std::string reason_;
};

}  // namespace wtcachefs::testing
