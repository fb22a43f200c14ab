// The command line and -o mount options, as users, fstab and mount.fuse3 write them.
#include <gtest/gtest.h>

#include <vector>

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/mount_options.h"

namespace wtcachefs {
namespace {

std::optional<int> Parse(std::vector<std::string> args, Options& options) {
  args.insert(args.begin(), "wtcachefs");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), options);
}

TEST(MountOptionList, SplitsAtUnescapedCommas) {
  EXPECT_EQ(SplitMountOptions("a,b\\,c,,d"), (std::vector<std::string>{"a", "b,c", "d"}));
  EXPECT_TRUE(SplitMountOptions("").empty());
}

TEST(MountOptionList, WtcachefsOptionsAcceptDashesOrUnderscores) {
  Options options;
  ASSERT_TRUE(ApplyMountOptions("cache=/fast,attr-timeout=2.5,entry_timeout=0,max-threads=4",
                                options).ok());
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_DOUBLE_EQ(options.attr_timeout, 2.5);
  EXPECT_DOUBLE_EQ(options.entry_timeout, 0);
  EXPECT_EQ(options.max_threads, 4u);
  ASSERT_TRUE(ApplyMountOptions("no_default_permissions", options).ok());
  EXPECT_FALSE(options.default_permissions);
}

TEST(MountOptionList, OptionsAddedByMountFuse3ArePassedToTheKernel) {
  Options options;
  ASSERT_TRUE(ApplyMountOptions("rw,dev,suid,nodev,nosuid,exec,noexec,allow_other,ro", options).ok());
  EXPECT_EQ(options.kernel_options,
            (std::vector<std::string>{"rw", "dev", "suid", "nodev", "nosuid", "exec", "noexec",
                                      "allow_other", "ro"}));
}

TEST(MountOptionList, FstabOnlyOptionsAreAcceptedAndIgnored) {
  Options options;
  ASSERT_TRUE(ApplyMountOptions(
                  "defaults,noauto,nofail,_netdev,x-systemd.requires-mounts-for=/fast,"
                  "comment=hello,user,users",
                  options)
                  .ok());
  EXPECT_TRUE(options.kernel_options.empty());
}

TEST(MountOptionList, UnknownOptionIsRejectedByName) {
  Options options;
  const Status s = ApplyMountOptions("rw,turbo=yes", options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("turbo=yes"), std::string::npos);
}

TEST(MountOptionList, BadValuesSayWhatIsExpected) {
  Options options;
  const Status seconds = ApplyMountOptions("attr_timeout=soon", options);
  ASSERT_FALSE(seconds.ok());
  EXPECT_NE(seconds.message().find("seconds"), std::string::npos);
  EXPECT_FALSE(ApplyMountOptions("max_threads=-3", options).ok());
  EXPECT_FALSE(ApplyMountOptions("cache=", options).ok());
  EXPECT_FALSE(ApplyMountOptions("cache", options).ok());
}

TEST(CommandLine, DirectFormTakesThreePaths) {
  Options options;
  EXPECT_FALSE(Parse({"/slow", "/fast", "/view", "-f"}, options));
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
  EXPECT_TRUE(options.foreground);
}

TEST(CommandLine, HelperFormTakesCacheFromOptions) {
  Options options;
  EXPECT_FALSE(Parse({"/slow", "/view", "-o", "rw,cache=/fast,allow_other,dev,suid"}, options));
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
  EXPECT_TRUE(options.Validate().ok());
}

TEST(CommandLine, CacheGivenTwiceIsAUsageError) {
  Options options;
  EXPECT_EQ(Parse({"/slow", "/fast", "/view", "-o", "cache=/other"}, options), kExitUsage);
}

TEST(CommandLine, HelperFormWithoutCacheFailsValidation) {
  Options options;
  EXPECT_FALSE(Parse({"/slow", "/view"}, options));
  const Status s = options.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cache"), std::string::npos);
}

TEST(CommandLine, WrongArgumentCountAndUnknownFlagsAreUsageErrors) {
  Options options;
  EXPECT_EQ(Parse({"/only-one"}, options), kExitUsage);
  EXPECT_EQ(Parse({"/a", "/b", "/c", "/d"}, options), kExitUsage);
  EXPECT_EQ(Parse({"/a", "/b", "/c", "--turbo"}, options), kExitUsage);
}

TEST(CommandLine, HelpAndVersionExitZero) {
  Options options;
  testing::internal::CaptureStdout();
  EXPECT_EQ(Parse({"--help"}, options), kExitOk);
  EXPECT_EQ(Parse({"--version"}, options), kExitOk);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("ORIGIN"), std::string::npos);
  EXPECT_NE(out.find("wtcachefs "), std::string::npos);
}

}  // namespace
}  // namespace wtcachefs
