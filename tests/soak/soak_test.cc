// SPDX-License-Identifier: Apache-2.0
// Load and soak on a real mount: 16 clients through the view of a cache small
// enough to evict all the time, with periodic full verification through the
// view and on origin (tests/soak/soak_main.cc). 60 seconds per CI run;
// WTCACHEFS_SOAK_SECONDS=600 gives the 10-minute run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

TEST(Soak, SixteenClientsMixedOperationsZeroMismatchesZeroErrors) {
  const char* configured = std::getenv("WTCACHEFS_SOAK_SECONDS");
  const std::string seconds = configured != nullptr ? configured : "60";
  MountedView mount({"-o", "cache_size=8M"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const CommandResult r = RunCommand(
      {WTCACHEFS_SOAK_BINARY, mount.view(), mount.origin(), "--clients", "16", "--seconds",
       seconds, "--verify-every", "10", "--daemon-pid", std::to_string(mount.daemon_pid())},
      std::chrono::seconds(std::stoi(seconds) + 300));
  std::cout << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" 0 mismatches, 0 errors"), std::string::npos) << r.out;
  EXPECT_TRUE(mount.Unmount()) << "the daemon did not stop cleanly after the soak";
}

}  // namespace
}  // namespace wtcachefs::testing
