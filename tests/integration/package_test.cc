// SPDX-License-Identifier: Apache-2.0
// The Debian package (packaging/package.cmake): CPack builds it from this build
// tree, it unpacks into a temporary root with every file a Debian administrator
// expects, the unpacked binary runs, and lintian reports no errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    output_ = new TempDir();
    built_ = RunCommand({"sh", "-c", "cd \"$1\" && cpack -G DEB -B \"$2\"", "sh",
                         WTCACHEFS_BUILD_DIR, output_->path()},
                        std::chrono::minutes(10));
    for (const auto& entry : std::filesystem::directory_iterator(output_->path())) {
      if (entry.path().extension() == ".deb") deb_ = entry.path();
    }
  }
  static void TearDownTestSuite() { delete output_; }
  void SetUp() override {
    ASSERT_EQ(built_.exit_code, 0) << built_.out << built_.err;
    ASSERT_FALSE(deb_.empty()) << "cpack made no .deb: " << built_.out;
  }

  static TempDir* output_;
  static CommandResult built_;
  static std::string deb_;
};

TempDir* PackageTest::output_ = nullptr;
CommandResult PackageTest::built_;
std::string PackageTest::deb_;

TEST_F(PackageTest, UnpacksWithEverythingInPlaceAndTheBinaryRuns) {
  TempDir root;
  const CommandResult unpacked = RunCommand({"dpkg-deb", "-x", deb_, root.path()});
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  for (const char* file :
       {"usr/bin/wtcachefs", "usr/share/man/man8/wtcachefs.8.gz",
        "usr/share/bash-completion/completions/wtcachefs",
        "usr/share/doc/wtcachefs/copyright", "usr/share/doc/wtcachefs/changelog.gz",
        "usr/share/doc/wtcachefs/examples/fstab", "usr/lib/systemd/system/wtcachefs@.service",
        "usr/share/wtcachefs/wtcachefs-fuse-uring.conf"}) {
    EXPECT_TRUE(std::filesystem::exists(root.path() + "/" + file)) << file;
  }
  // The host's io_uring switch is shipped, never turned on by the package:
  // nothing of it lies where systemd-tmpfiles applies it at boot.
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/usr/lib/tmpfiles.d"));
  EXPECT_NE(ReadFile(root.path() + "/usr/share/wtcachefs/wtcachefs-fuse-uring.conf")
                .find("w /sys/module/fuse/parameters/enable_uring - - - - 1\n"),
            std::string::npos);
  const std::string binary = root.path() + "/usr/bin/wtcachefs";
  const CommandResult version = RunCommand({binary, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("wtcachefs "), std::string::npos) << version.out;
  const CommandResult help = RunCommand({binary, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--policy"), std::string::npos) << help.out;
  const CommandResult man = RunCommand(
      {"sh", "-c", "zcat \"$1\" | groff -ww -z -man 2>&1", "sh",
       root.path() + "/usr/share/man/man8/wtcachefs.8.gz"});
  EXPECT_EQ(man.out, "") << "the manual page has formatting warnings";
}

TEST_F(PackageTest, ControlFieldsNameTheRuntimeDependencies) {
  const CommandResult fields = RunCommand({"dpkg-deb", "--field", deb_, "Depends", "Section"});
  ASSERT_EQ(fields.exit_code, 0) << fields.err;
  for (const char* dependency : {"fuse3", "liburing2"}) {
    EXPECT_NE(fields.out.find(dependency), std::string::npos) << fields.out;
  }
  // Linked statically (scripts/install-libfuse.sh), libfuse is inside the binary.
  const bool needs_libfuse = !WTCACHEFS_FUSE3_STATIC;
  EXPECT_EQ(fields.out.find("libfuse3-3") != std::string::npos, needs_libfuse) << fields.out;
  EXPECT_NE(fields.out.find("admin"), std::string::npos) << fields.out;
}

TEST_F(PackageTest, LintianReportsNoErrors) {
  const CommandResult lint = RunCommand({"lintian", "--no-tag-display-limit", deb_},
                                        std::chrono::minutes(5));
  EXPECT_EQ(lint.out.find("E: "), std::string::npos) << lint.out;
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

}  // namespace
}  // namespace wtcachefs::testing
