// SPDX-License-Identifier: Apache-2.0
// -o allow_other by a user other than root: refused before mounting unless
// fuse.conf has the line user_allow_other, read as fusermount3 reads it.
#include <gtest/gtest.h>

#include "cli/allow_other_check.h"
#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using testing::TempDir;
using testing::WriteFile;

class AllowOtherCheckTest : public ::testing::Test {
 protected:
  std::string Conf(const std::string& text) {
    WriteFile(conf_, text);
    return conf_;
  }
  Options WithAllowOther() {
    Options options;
    options.kernel_options = {"rw", "allow_other"};
    return options;
  }
  TempDir dir_;
  std::string conf_ = dir_.path() + "/fuse.conf";
};

TEST_F(AllowOtherCheckTest, TheLineIsFoundAsFusermount3ReadsIt) {
  EXPECT_TRUE(FuseConfAllowsOther(Conf("user_allow_other\n")));
  EXPECT_TRUE(FuseConfAllowsOther(Conf("# comment\n  user_allow_other\t# yes\nmount_max = 9\n")));
  EXPECT_TRUE(FuseConfAllowsOther(Conf("user_allow_other")));  // no final newline
  EXPECT_FALSE(FuseConfAllowsOther(Conf("#user_allow_other\n")));
  EXPECT_FALSE(FuseConfAllowsOther(Conf("user_allow_other_x\nuser_allow_other=1\n")));
  EXPECT_FALSE(FuseConfAllowsOther(Conf("")));
  EXPECT_FALSE(FuseConfAllowsOther(dir_.path() + "/missing.conf"));
}

TEST_F(AllowOtherCheckTest, UserWithoutTheLineIsToldWhatToAdd) {
  const Status s = CheckAllowOtherPermitted(WithAllowOther(), 1000, 1000, Conf("#user_allow_other\n"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), EPERM);
  EXPECT_NE(s.message().find("option allow_other"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("add that line to " + conf_), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("user_allow_other"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("or mount without -o allow_other"), std::string::npos);
}

// allow_root is allow_other to the kernel (libfuse narrows it to root and the
// owner): fusermount3 asks the same line for it.
TEST_F(AllowOtherCheckTest, AllowRootNeedsTheSameLine) {
  Options options;
  options.kernel_options = {"rw", "allow_root"};
  const Status s = CheckAllowOtherPermitted(options, 1000, 1000, Conf("\n"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), EPERM);
  EXPECT_NE(s.message().find("option allow_root"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("or mount without -o allow_root"), std::string::npos);
  EXPECT_TRUE(CheckAllowOtherPermitted(options, 1000, 1000, Conf("user_allow_other\n")).ok());
  EXPECT_TRUE(CheckAllowOtherPermitted(options, 0, 0, Conf("\n")).ok());
}

TEST_F(AllowOtherCheckTest, RootTheLineOrNoAllowOtherPass) {
  const std::string without = Conf("\n");
  EXPECT_TRUE(CheckAllowOtherPermitted(WithAllowOther(), 0, 0, without).ok());
  EXPECT_TRUE(CheckAllowOtherPermitted(WithAllowOther(), 1000, 0, without).ok());
  EXPECT_TRUE(CheckAllowOtherPermitted(WithAllowOther(), 0, 1000, without).ok());
  EXPECT_TRUE(CheckAllowOtherPermitted(Options(), 1000, 1000, without).ok());
  EXPECT_TRUE(
      CheckAllowOtherPermitted(WithAllowOther(), 1000, 1000, Conf("user_allow_other\n")).ok());
}

}  // namespace
}  // namespace wtcachefs
