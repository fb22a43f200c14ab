// SPDX-License-Identifier: Apache-2.0
// The smallest end-to-end check: a mounted view shows origin's file and a write
// through the view lands on origin.
#include <gtest/gtest.h>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

TEST(Smoke, ViewShowsOriginAndWritesReachOrigin) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  WriteFile(mount.OriginPath("a.txt"), "hello");
  EXPECT_EQ(ReadFile(mount.ViewPath("a.txt")), "hello");
  WriteFile(mount.ViewPath("b.txt"), "through the view");
  EXPECT_EQ(ReadFile(mount.OriginPath("b.txt")), "through the view");
  EXPECT_TRUE(mount.Unmount());
  EXPECT_FALSE(IsMountPoint(mount.view()));
}

}  // namespace
}  // namespace wtcachefs::testing
