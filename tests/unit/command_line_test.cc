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

namespace wtcachefs {
namespace {

TEST(MountOptionList, SizesTakeBinarySuffixes) {
  EXPECT_EQ(ParseSize("cache_size", "4096").value(), 4096u);
  EXPECT_EQ(ParseSize("cache_size", "64K").value(), 64u << 10);
  EXPECT_EQ(ParseSize("cache_size", "3m").value(), 3u << 20);
  EXPECT_EQ(ParseSize("cache_size", "10G").value(), 10ull << 30);
  EXPECT_EQ(ParseSize("cache_size", "2T").value(), 2ull << 40);
  for (const char* bad : {"", "K", "10X", "1.5G", "-1", "10KB", "99999999999999999999T"}) {
    EXPECT_FALSE(ParseSize("cache_size", bad).ok()) << bad;
  }
}

TEST(MountOptionList, CacheGeometryOptions) {
  Options options;
  options.origin = "/slow";
  options.view = "/view";
  ASSERT_TRUE(
      ApplyMountOptions("cache=/fast,block-size=128K,cache_size=1G,reset_cache", options).ok());
  EXPECT_EQ(options.block_size, 128u * 1024);
  EXPECT_EQ(options.cache_size, 1ull << 30);
  EXPECT_TRUE(options.reset_cache);
  EXPECT_TRUE(options.Validate().ok());
  options.block_size = 96 * 1024;
  EXPECT_FALSE(options.Validate().ok()) << "not a power of two";
  EXPECT_FALSE(ApplyMountOptions("block_size=8M", options).ok());
}

TEST(CommandLine, CacheGeometryFlags) {
  Options options;
  EXPECT_FALSE(Parse({"/s", "/f", "/v", "--block-size", "16K", "--cache-size", "2G",
                      "--reset-cache"}, options));
  EXPECT_EQ(options.block_size, 16u * 1024);
  EXPECT_EQ(options.cache_size, 2ull << 30);
  EXPECT_TRUE(options.reset_cache);
  Options bad;
  EXPECT_EQ(Parse({"/s", "/f", "/v", "--cache-size", "lots"}, bad), kExitUsage);
}

}  // namespace
}  // namespace wtcachefs
