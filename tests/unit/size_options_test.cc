// SPDX-License-Identifier: Apache-2.0
// Sizes and cache geometry options: suffixes, limits, and their flags.
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

TEST(CommandLine, EmptySizesAreUsageErrorsNotTheDefault) {
  for (const std::vector<std::string>& flag :
       std::vector<std::vector<std::string>>{{"--cache-size", ""},
                                             {"--cache-size="},
                                             {"--block-size", ""},
                                             {"--block-size="},
                                             {"-o", "cache_size="},
                                             {"-o", "block_size="},
                                             {"-o", "cache_size"},
                                             {"-o", "read_ahead="},
                                             {"-o", "sequential_cutoff="}}) {
    std::vector<std::string> args = {"/s", "/f", "/v"};
    args.insert(args.end(), flag.begin(), flag.end());
    Options options;
    ::testing::internal::CaptureStderr();
    const std::optional<int> exit_code = Parse(args, options);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(exit_code, kExitUsage) << flag.back();
    EXPECT_NE(err.find("needs a value"), std::string::npos) << err;
    EXPECT_EQ(options.cache_size, 0u);
  }
}

TEST(MountOptionList, MalformedSizesNameTheOptionAndGiveExamples) {
  for (const char* bad : {"", "K", "10X", "1.5G", "-1", "10KB", " 1G", "1G ", "0x10"}) {
    const Status s = ParseSize("cache_size", bad).status();
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(std::string("cache_size=") + bad), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("cache_size=10G"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace wtcachefs
