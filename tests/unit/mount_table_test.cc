// SPDX-License-Identifier: Apache-2.0
// Reading mountinfo: the mount on top at a path, with its type and source, and
// paths with the characters mountinfo escapes.
#include <gtest/gtest.h>

#include "cache_dir/mount_table.h"
#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using testing::TempDir;
using testing::WriteFile;

constexpr char kMountinfo[] =
    "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
    "30 1 0:25 / /srv/view rw,relatime shared:5 - tmpfs none rw,size=1024k\n"
    "31 30 0:26 / /srv/view rw,nosuid,nodev - fuse.wtcachefs /srv/origin rw,user_id=0\n"
    "32 1 0:27 / /srv/my\\040view rw master:3 - ext4 /dev/sd\\134a1 rw\n";

class MountTableTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteFile(path_, kMountinfo); }
  TempDir dir_;
  std::string path_ = dir_.path() + "/mountinfo";
};

TEST_F(MountTableTest, TheMountOnTopIsFound) {
  const auto mount = FindMountAt("/srv/view", path_);
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->type, "fuse.wtcachefs");
  EXPECT_EQ(mount->source, "/srv/origin");
  EXPECT_EQ(DescribeMount(*mount), "fuse.wtcachefs '/srv/origin'");
}

TEST_F(MountTableTest, EscapedPathsAreMatchedUnescaped) {
  const auto mount = FindMountAt("/srv/my view", path_);
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->type, "ext4");
  EXPECT_EQ(mount->source, "/dev/sd\\a1");
}

TEST_F(MountTableTest, APathThatIsNoMountPointIsNotFound) {
  EXPECT_FALSE(FindMountAt("/srv", path_));
  EXPECT_FALSE(FindMountAt("/srv/view/sub", path_));
  EXPECT_FALSE(FindMountAt("/srv/view", path_ + ".missing"));
}

TEST(MountTable, ThisProcessSeesItsRoot) {
  EXPECT_TRUE(FindMountAt("/"));
  EXPECT_TRUE(FindMountAt("/", MountinfoOf(::getpid())));
}

}  // namespace
}  // namespace wtcachefs
