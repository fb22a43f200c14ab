// SPDX-License-Identifier: Apache-2.0
// The view's read-ahead: FUSE starts a mount at 128 KiB; wtcachefs sets the
// mount's window (-o read_ahead=, default 4 MiB) on the first open, after the
// kernel's INIT, and leaves the kernel's with read_ahead=0.
#include <gtest/gtest.h>

#include <fstream>

#include "fuse/read_ahead.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

// read_ahead_kb of the mount at `view` ("" when it cannot be found).
std::string ReadAheadKb(const std::string& view) {
  std::ifstream knob(ReadAheadKnob(view));
  std::string kb;
  knob >> kb;
  return kb;
}

std::string ReadAheadAfterAnOpen(const std::vector<std::string>& args) {
  MountedView mount(args);
  if (!mount.ok()) return "mount failed: " + mount.failure();
  WriteFile(mount.OriginPath("f"), "data");
  EXPECT_EQ(ReadFile(mount.ViewPath("f")), "data");
  return ReadAheadKb(mount.view());
}

TEST(ReadAhead, DefaultIsFourMibAfterTheFirstOpen) {
  EXPECT_EQ(ReadAheadAfterAnOpen({}), "4096");
}

TEST(ReadAhead, OptionSetsTheWindowAndZeroLeavesTheKernels) {
  EXPECT_EQ(ReadAheadAfterAnOpen({"-o", "read_ahead=1M"}), "1024");
  EXPECT_EQ(ReadAheadAfterAnOpen({"--read-ahead", "512K"}), "512");
  EXPECT_EQ(ReadAheadAfterAnOpen({"-o", "read_ahead=0"}), "128");
}

}  // namespace
}  // namespace wtcachefs::testing
