// SPDX-License-Identifier: Apache-2.0
// statfs(2) / statvfs(3) through VIEW describe origin's filesystem.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

using posix_statfs = PosixViewTest;

void ExpectSameFilesystem(const struct statvfs& v, const struct statvfs& o,
                          const std::string& what) {
  EXPECT_EQ(v.f_bsize, o.f_bsize) << what;
  EXPECT_EQ(v.f_frsize, o.f_frsize) << what;
  EXPECT_EQ(v.f_blocks, o.f_blocks) << what;
  EXPECT_EQ(v.f_files, o.f_files) << what;
  EXPECT_EQ(v.f_namemax, o.f_namemax) << what;
  // Free counts move with other activity on the machine: allow a little drift.
  const auto near = [](unsigned long a, unsigned long b, unsigned long slack) {
    return (a > b ? a - b : b - a) <= slack;
  };
  EXPECT_TRUE(near(v.f_bfree, o.f_bfree, 65536)) << what << ": " << v.f_bfree << " vs "
                                                 << o.f_bfree;
  EXPECT_TRUE(near(v.f_bavail, o.f_bavail, 65536)) << what;
  EXPECT_TRUE(near(v.f_ffree, o.f_ffree, 4096)) << what;
}

TEST_F(posix_statfs, StatvfsOfTheViewMatchesOriginsFilesystem) {
  ASSERT_EQ(::mkdir(V("d").c_str(), 0755), 0);
  WriteFile(V("d/f"), "x");
  for (const char* rel : {"", "d", "d/f"}) {
    struct statvfs v, o;
    ASSERT_EQ(::statvfs(V(rel).c_str(), &v), 0) << rel;
    ASSERT_EQ(::statvfs(O(rel).c_str(), &o), 0) << rel;
    ExpectSameFilesystem(v, o, std::string("path '") + rel + "'");
  }
  const int fd = ::open(V("d/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct statvfs v, o;
  ASSERT_EQ(::fstatvfs(fd, &v), 0);
  ::close(fd);
  ASSERT_EQ(::statvfs(mount_.origin().c_str(), &o), 0);
  ExpectSameFilesystem(v, o, "fstatvfs");
}

TEST_F(posix_statfs, FreeSpaceThroughTheViewFollowsOriginUsage) {
  struct statvfs before;
  ASSERT_EQ(::statvfs(mount_.view().c_str(), &before), 0);
  // 64 MiB of real allocation on origin.
  const int fd = ::open(O("big").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fallocate(fd, 0, 64 << 20), 0);
  ::close(fd);
  struct statvfs after, origin;
  ASSERT_EQ(::statvfs(mount_.view().c_str(), &after), 0);
  ASSERT_EQ(::statvfs(mount_.origin().c_str(), &origin), 0);
  const double used_bytes =
      (static_cast<double>(before.f_bfree) - static_cast<double>(after.f_bfree)) *
      static_cast<double>(after.f_frsize);
  EXPECT_GT(used_bytes, 48.0 * (1 << 20));
  ExpectSameFilesystem(after, origin, "after allocation");
}

}  // namespace
}  // namespace wtcachefs::testing
