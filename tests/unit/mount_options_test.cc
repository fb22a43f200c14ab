// SPDX-License-Identifier: Apache-2.0
// `-o` mount options and the command line, written the way users, fstab, mount(8)
// and mount.fuse3 write them: every wtcachefs option with dashes or underscores,
// the options mount.fuse3 adds, fstab-only options, and every kind of mistake.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/mount_options.h"

namespace wtcachefs {
namespace {

// Runs ParseCommandLine on `args` (argv[0] is added); stderr is captured into
// `*err` when given.
std::optional<int> Parse(std::vector<std::string> args, Options& options,
                         std::string* err = nullptr) {
  args.insert(args.begin(), "wtcachefs");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  ::testing::internal::CaptureStderr();
  std::optional<int> result =
      ParseCommandLine(static_cast<int>(argv.size()), argv.data(), options);
  const std::string captured = ::testing::internal::GetCapturedStderr();
  if (err != nullptr) *err = captured;
  return result;
}

bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A usage error is one line, starts with "wtcachefs: " and names `culprit`.
void ExpectOneLineUsageError(const std::vector<std::string>& args, const std::string& culprit) {
  Options options;
  std::string err;
  const std::optional<int> exit_code = Parse(args, options, &err);
  std::string joined;
  for (const std::string& a : args) joined += a + " ";
  SCOPED_TRACE(joined + "-> " + err);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, kExitUsage);
  EXPECT_EQ(err.rfind("wtcachefs: ", 0), 0u);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_TRUE(Mentions(err, culprit)) << "does not name " << culprit;
}

// ---- SplitMountOptions -------------------------------------------------------

TEST(MountOptions, EscapedCommasStayInsideOneOption) {
  EXPECT_EQ(SplitMountOptions("cache=/fast\\,disk,ro"),
            (std::vector<std::string>{"cache=/fast,disk", "ro"}));
  EXPECT_EQ(SplitMountOptions("a\\,b\\,c"), (std::vector<std::string>{"a,b,c"}));
  EXPECT_EQ(SplitMountOptions("comment=x\\,y,allow_other"),
            (std::vector<std::string>{"comment=x,y", "allow_other"}));
}

TEST(MountOptions, EmptyPiecesAreDropped) {
  EXPECT_EQ(SplitMountOptions(",rw,,dev,"), (std::vector<std::string>{"rw", "dev"}));
  EXPECT_TRUE(SplitMountOptions("").empty());
  EXPECT_TRUE(SplitMountOptions(",,,").empty());
}

TEST(MountOptions, ABackslashEscapesItselfAndATrailingOneIsKept) {
  EXPECT_EQ(SplitMountOptions("cache=/a\\\\b"), (std::vector<std::string>{"cache=/a\\b"}));
  EXPECT_EQ(SplitMountOptions("cache=/a\\"), (std::vector<std::string>{"cache=/a\\"}));
}

TEST(MountOptions, CachePathWithAnEscapedCommaIsKeptWhole) {
  Options options;
  ASSERT_TRUE(ApplyMountOptions("rw,cache=/fast\\,disk,dev", options).ok());
  EXPECT_EQ(options.cache, "/fast,disk");
  EXPECT_EQ(options.kernel_options, (std::vector<std::string>{"rw", "dev"}));
}

// ---- every wtcachefs option, with underscores and with dashes ------------------

class MountOptionsEveryName : public ::testing::TestWithParam<bool> {
 protected:
  // "attr_timeout" written with dashes when GetParam() is true.
  static std::string Spell(std::string name) {
    if (GetParam()) std::replace(name.begin(), name.end(), '_', '-');
    return name;
  }
};

TEST_P(MountOptionsEveryName, IsAcceptedAsMountOption) {
  Options options;
  const std::string list = Spell("cache") + "=/fast," + Spell("attr_timeout") + "=2.5," +
                           Spell("entry_timeout") + "=0.25," + Spell("block_size") + "=128K," +
                           Spell("cache_size") + "=3G," + Spell("reset_cache") + "," +
                           Spell("max_threads") + "=7," + Spell("no_default_permissions") +
                           "," + Spell("foreground");
  const Status s = ApplyMountOptions(list, options);
  ASSERT_TRUE(s.ok()) << list << ": " << s.message();
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_DOUBLE_EQ(options.attr_timeout, 2.5);
  EXPECT_DOUBLE_EQ(options.entry_timeout, 0.25);
  EXPECT_EQ(options.block_size, 128u << 10);
  EXPECT_EQ(options.cache_size, 3ull << 30);
  EXPECT_TRUE(options.reset_cache);
  EXPECT_EQ(options.max_threads, 7u);
  EXPECT_FALSE(options.default_permissions);
  EXPECT_TRUE(options.foreground);
  EXPECT_FALSE(options.debug);
  EXPECT_TRUE(options.kernel_options.empty()) << "wtcachefs options must not reach the kernel";

  ASSERT_TRUE(ApplyMountOptions(Spell("default_permissions"), options).ok());
  EXPECT_TRUE(options.default_permissions);
  Options debug;
  ASSERT_TRUE(ApplyMountOptions("debug", debug).ok());
  EXPECT_TRUE(debug.debug);
  EXPECT_TRUE(debug.foreground) << "debug implies foreground";
}

TEST_P(MountOptionsEveryName, IsAcceptedOnTheCommandLineInTheHelperForm) {
  Options options;
  std::string err;
  const std::string list = "rw," + Spell("cache") + "=/fast," + Spell("attr_timeout") +
                           "=3," + Spell("entry_timeout") + "=4," + Spell("block_size") +
                           "=16K," + Spell("cache_size") + "=64M," + Spell("max_threads") +
                           "=2," + Spell("reset_cache") + ",dev,suid";
  EXPECT_FALSE(Parse({"/slow", "/view", "-o", list}, options, &err)) << err;
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
  EXPECT_DOUBLE_EQ(options.attr_timeout, 3);
  EXPECT_DOUBLE_EQ(options.entry_timeout, 4);
  EXPECT_EQ(options.block_size, 16u << 10);
  EXPECT_EQ(options.cache_size, 64ull << 20);
  EXPECT_EQ(options.max_threads, 2u);
  EXPECT_TRUE(options.reset_cache);
  EXPECT_TRUE(options.Validate().ok()) << options.Validate().message();
}

INSTANTIATE_TEST_SUITE_P(UnderscoresAndDashes, MountOptionsEveryName, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? std::string("Dashes")
                                             : std::string("Underscores");
                         });

// ---- options mount.fuse3, mount(8) and fstab add --------------------------------

TEST(MountOptions, OptionsMountFuse3AddsArePassedToTheKernel) {
  const std::vector<std::string> flags = {"rw",   "ro",     "dev",   "nodev",  "suid",
                                          "nosuid", "exec", "noexec", "atime", "noatime",
                                          "sync", "async",  "dirsync", "allow_root"};
  for (const std::string& flag : flags) {
    Options options;
    const Status s = ApplyMountOptions(flag, options);
    ASSERT_TRUE(s.ok()) << flag << ": " << s.message();
    EXPECT_EQ(options.kernel_options, (std::vector<std::string>{flag}));
  }
  Options options;
  ASSERT_TRUE(ApplyMountOptions("rw,cache=/fast,allow_other,dev,suid", options).ok());
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.kernel_options,
            (std::vector<std::string>{"rw", "allow_other", "dev", "suid"}));
}

TEST(MountOptions, FuseOptionsWithValuesArePassedOn) {
  Options options;
  ASSERT_TRUE(ApplyMountOptions("fsname=slowdisk,allow-other,auto_unmount", options).ok());
  EXPECT_EQ(options.kernel_options,
            (std::vector<std::string>{"fsname=slowdisk", "allow_other", "auto_unmount"}));
}

TEST(MountOptions, FstabOnlyOptionsAreIgnored) {
  for (const std::string option :
       {"defaults", "auto", "noauto", "nofail", "_netdev", "user", "users", "nouser", "owner",
        "group", "x-systemd.requires-mounts-for=/x", "x-systemd.automount",
        "x-systemd.device-timeout=10s", "x-gvfs-show", "comment=systemd.automount",
        "comment=two\\,words", "lazytime"}) {
    Options options;
    const Status s = ApplyMountOptions(option, options);
    EXPECT_TRUE(s.ok()) << option << ": " << s.message();
    EXPECT_TRUE(options.kernel_options.empty()) << option << " reached the kernel";
    EXPECT_TRUE(options.cache.empty());
  }
}

TEST(MountOptions, AWholeFstabLineParses) {
  Options options;
  const Status s = ApplyMountOptions(
      "defaults,cache=/var/cache/wt,nofail,x-systemd.requires-mounts-for=/var/cache/wt,"
      "_netdev,allow_other,noauto,comment=vm disks",
      options);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(options.cache, "/var/cache/wt");
  EXPECT_EQ(options.kernel_options, (std::vector<std::string>{"allow_other"}));
}

TEST(MountOptions, AtimeFlagsLibfuseCannotPassAreRefusedOrAreTheDefault) {
  // libfuse 3.14 rejects diratime, nodiratime, relatime, norelatime, strictatime
  // and nostrictatime at mount time. Those that name the default are accepted
  // (there is nothing to do); the others are refused up front, by name.
  for (const std::string option : {"relatime", "diratime", "nostrictatime"}) {
    Options options;
    const Status s = ApplyMountOptions(option, options);
    EXPECT_TRUE(s.ok()) << option << ": " << s.message();
    EXPECT_TRUE(options.kernel_options.empty()) << option << " would make libfuse fail";
  }
  for (const std::string option : {"nodiratime", "norelatime", "strictatime"}) {
    Options options;
    const Status s = ApplyMountOptions(option, options);
    ASSERT_FALSE(s.ok()) << option;
    EXPECT_TRUE(Mentions(s.message(), "'" + option + "'")) << s.message();
    EXPECT_TRUE(Mentions(s.message(), "remove")) << s.message();
  }
}

TEST(MountOptions, MaxReadIsRefusedBecauseTheSessionWouldFailAfterMounting) {
  // libfuse 3.14 ends the session at FUSE_INIT when max_read differs from what
  // the filesystem's init() asks for: the mount would vanish after a 0 exit.
  Options options;
  const Status s = ApplyMountOptions("max_read=65536", options);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s.message(), "max_read")) << s.message();
}

// ---- mistakes -------------------------------------------------------------------

TEST(MountOptions, UnknownOptionsAreRejectedByName) {
  for (const std::string option : {"turbo", "turbo=yes", "cache_mode=writeback", "xsystemd"}) {
    Options options;
    const Status s = ApplyMountOptions("rw," + option + ",dev", options);
    ASSERT_FALSE(s.ok()) << option;
    EXPECT_TRUE(Mentions(s.message(), "'" + option + "'")) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  }
}

TEST(MountOptions, BadValuesNameTheOptionAndSayWhatIsExpected) {
  struct Case {
    std::string option;
    std::string expect;  // part of the message
  };
  const std::vector<Case> cases = {
      {"attr_timeout=abc", "attr_timeout=abc"},  {"entry-timeout=1s", "entry_timeout=1s"},
      {"attr_timeout=", "attr_timeout"},         {"max_threads=many", "max_threads=many"},
      {"max_threads=-3", "max_threads=-3"},      {"max_threads=4.5", "max_threads=4.5"},
      {"block_size=64Q", "block_size=64Q"},      {"block_size=8M", "block_size=8M"},
      {"block_size=0", "block_size=0"},          {"cache_size=lots", "cache_size=lots"},
      {"cache_size=0", "cache_size=0"},          {"cache_size=", "cache_size"},
      {"cache=", "cache"},                       {"cache", "cache"},
      {"fsname", "fsname"},                      {"reset_cache=yes", "reset_cache"},
      {"ro=1", "ro"},
      {"mrc=maybe", "mrc=maybe"},
  };
  for (const Case& c : cases) {
    Options options;
    const Status s = ApplyMountOptions(c.option, options);
    ASSERT_FALSE(s.ok()) << c.option;
    EXPECT_TRUE(Mentions(s.message(), c.expect)) << c.option << " -> " << s.message();
  }
}

// Every -o option that takes a value.
const std::vector<std::string> kValuedOptions = {
    "cache",      "attr_timeout", "entry_timeout", "revalidate", "block_size",
    "cache_size", "policy",       "promote_after", "read_ahead", "sequential_cutoff",
    "log_level",  "write_policy", "max_threads",   "fsname",     "mrc"};

TEST(MountOptions, EveryValuedOptionGivenEmptyOrBareIsRefusedWithAnExample) {
  for (const std::string& name : kValuedOptions) {
    EXPECT_FALSE(HintFor(name).kind.empty()) << name << " has no hint";
    EXPECT_FALSE(HintFor(name).example.empty()) << name << " has no example";
    for (const std::string& written : {name + "=", name, "rw," + name + "=,dev"}) {
      Options options;
      const Status s = ApplyMountOptions(written, options);
      ASSERT_FALSE(s.ok()) << written;
      EXPECT_TRUE(Mentions(s.message(), "-o " + name + "=")) << written << " -> " << s.message();
      EXPECT_TRUE(
          Mentions(s.message(), "example: -o " + name + "=" + std::string(HintFor(name).example)))
          << s.message();
      EXPECT_EQ(s.message().find('\n'), std::string::npos);
    }
  }
}

TEST(MountOptions, EveryExampleInAMessageIsAValidValue) {
  for (const std::string& name : kValuedOptions) {
    Options options;
    options.origin = "/slow";
    options.cache = "/fast";
    options.view = "/view";
    const std::string option = name + "=" + std::string(HintFor(name).example);
    const Status s = ApplyMountOptions(option, options);
    EXPECT_TRUE(s.ok()) << option << ": " << s.message();
    EXPECT_TRUE(options.Validate().ok()) << option << ": " << options.Validate().message();
  }
}

TEST(MountOptions, TheMissRatioCurveIsOnUnlessTurnedOff) {
  Options options;
  EXPECT_TRUE(options.miss_ratio_curve);
  ASSERT_TRUE(ApplyMountOptions("mrc=off", options).ok());
  EXPECT_FALSE(options.miss_ratio_curve);
  ASSERT_TRUE(ApplyMountOptions("mrc=on", options).ok());
  EXPECT_TRUE(options.miss_ratio_curve);
}

TEST(MountOptions, OptionsWithoutAValueHaveNoHint) {
  for (const std::string name : {"ro", "reset_cache", "allow_other", "turbo"}) {
    EXPECT_TRUE(HintFor(name).kind.empty()) << name;
  }
}

TEST(MountOptions, OutOfRangeValuesFailValidationByName) {
  for (const std::string option :
       {"attr_timeout=-1", "entry_timeout=inf", "max_threads=0", "block_size=3K"}) {
    Options options;
    options.origin = "/slow";
    options.cache = "/fast";
    options.view = "/view";
    const Status applied = ApplyMountOptions(option, options);
    const Status validated = applied.ok() ? options.Validate() : applied;
    ASSERT_FALSE(validated.ok()) << option;
    const std::string name = option.substr(0, option.find('='));
    EXPECT_TRUE(Mentions(validated.message(), name)) << validated.message();
  }
}

// ---- ParseCommandLine --------------------------------------------------------------

TEST(CommandLineForms, DirectFormWithOptionsAndFlags) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/fast", "/view", "-o", "ro,allow_other", "--attr-timeout", "5",
                      "--entry-timeout", "6", "--max-threads", "3", "--no-default-permissions",
                      "-d"},
                     options, &err))
      << err;
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
  EXPECT_EQ(options.kernel_options, (std::vector<std::string>{"ro", "allow_other"}));
  EXPECT_DOUBLE_EQ(options.attr_timeout, 5);
  EXPECT_DOUBLE_EQ(options.entry_timeout, 6);
  EXPECT_EQ(options.max_threads, 3u);
  EXPECT_FALSE(options.default_permissions);
  EXPECT_TRUE(options.debug);
  EXPECT_TRUE(options.foreground);
  EXPECT_TRUE(err.empty()) << err;
}

TEST(CommandLineForms, HelperFormAsMountFuse3CallsIt) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/view", "-o", "rw,cache=/fast,allow_other,dev,suid"}, options,
                     &err))
      << err;
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
  EXPECT_FALSE(options.foreground) << "mount(8) expects the helper to detach";
  EXPECT_EQ(options.kernel_options,
            (std::vector<std::string>{"rw", "allow_other", "dev", "suid"}));
  EXPECT_TRUE(options.Validate().ok());
}

TEST(CommandLineForms, SeveralOptionListsAndAGluedOneAreAllApplied) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/view", "-o", "rw", "-ocache=/fast", "-o", "nosuid,nodev"},
                     options, &err))
      << err;
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.kernel_options, (std::vector<std::string>{"rw", "nosuid", "nodev"}));
}

TEST(CommandLineForms, OptionsMayComeBeforeThePaths) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"-o", "cache=/fast,nofail", "/slow", "/view"}, options, &err)) << err;
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_EQ(options.view, "/view");
}

TEST(CommandLineForms, CacheFlagIsTheSameAsTheOption) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/view", "--cache", "/fast"}, options, &err)) << err;
  EXPECT_EQ(options.cache, "/fast");
  EXPECT_TRUE(options.Validate().ok());
}

TEST(CommandLineForms, EscapedCommaInTheCachePathOfTheHelperForm) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/view", "-o", "cache=/fast\\,disk,rw"}, options, &err)) << err;
  EXPECT_EQ(options.cache, "/fast,disk");
}

TEST(CommandLineForms, CacheGivenTwiceIsAUsageErrorNamingCache) {
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "-o", "cache=/other"}, "CACHE");
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "--cache", "/other"}, "CACHE");
  ExpectOneLineUsageError({"/slow", "/view", "--cache", "/a", "-o", "cache=/b"}, "--cache");
}

TEST(CommandLineForms, TwoArgumentFormWithoutCacheFailsValidationNamingCache) {
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/slow", "/view"}, options, &err)) << err;
  EXPECT_EQ(options.origin, "/slow");
  EXPECT_EQ(options.view, "/view");
  EXPECT_TRUE(options.cache.empty());
  const Status s = options.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s.message(), "CACHE")) << s.message();
  EXPECT_TRUE(Mentions(s.message(), "cache=")) << "says how to give it: " << s.message();
}

TEST(CommandLineForms, UnknownOptionsAreOneLineUsageErrorsNamingThem) {
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "-o", "rw,turbo"}, "turbo");
  ExpectOneLineUsageError({"/slow", "/view", "-o", "cache=/fast,writeback=1"}, "writeback=1");
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "--turbo"}, "--turbo");
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "-x"}, "-x");
}

TEST(CommandLineForms, BadValuesAreOneLineUsageErrorsNamingTheOption) {
  ExpectOneLineUsageError({"/s", "/f", "/v", "-o", "attr_timeout=abc"}, "attr_timeout=abc");
  ExpectOneLineUsageError({"/s", "/f", "/v", "-o", "attr-timeout=abc"}, "attr_timeout=abc");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--attr-timeout", "abc"}, "attr-timeout");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--max-threads", "x"}, "max-threads");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--block-size", "huge"}, "block_size=huge");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--cache-size", "lots"}, "cache_size=lots");
  ExpectOneLineUsageError({"/s", "/f", "/v", "-o"}, "-o");
}

TEST(CommandLineForms, EveryValuedFlagGivenEmptyIsAUsageErrorNamingIt) {
  const std::vector<std::string> flags = {
      "--cache",         "--attr-timeout",      "--entry-timeout", "--revalidate", "--max-threads",
      "--block-size",    "--cache-size",        "--read-ahead",    "--log-level",  "--policy",
      "--promote-after", "--sequential-cutoff", "--write-policy"};
  for (const std::string& flag : flags) {
    ExpectOneLineUsageError({"/s", "/f", "/v", flag, ""}, flag);
    ExpectOneLineUsageError({"/s", "/f", "/v", flag + "="}, flag);
    ExpectOneLineUsageError({"/s", "/v", flag, "", "-o", "cache=/f"}, "needs a value");
  }
}

TEST(CommandLineForms, EmptyFlagValuesSayWhatAValidValueLooksLike) {
  ExpectOneLineUsageError({"/s", "/f", "/v", "--cache-size", ""}, "example: --cache-size 10G");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--block-size", ""}, "example: --block-size 64K");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--attr-timeout", ""}, "number of seconds");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--max-threads", ""}, "whole number");
  ExpectOneLineUsageError({"/s", "/v", "--cache", ""}, "a directory");
}

TEST(CommandLineForms, AFlagValueHoldingACommaIsRefused) {
  // It would smuggle in a second option through the -o parser.
  ExpectOneLineUsageError({"/s", "/f", "/v", "--policy", "lru,cache=/x"}, "--policy");
  ExpectOneLineUsageError({"/s", "/f", "/v", "--cache-size", "1G,block_size=4K"}, "--cache-size");
  // A cache path may hold a comma.
  Options options;
  std::string err;
  EXPECT_FALSE(Parse({"/s", "/v", "--cache", "/fast,disk"}, options, &err)) << err;
  EXPECT_EQ(options.cache, "/fast,disk");
}

TEST(CommandLineForms, AnEmptyOptionListIsAUsageError) {
  ExpectOneLineUsageError({"/s", "/f", "/v", "-o", ""}, "-o");
}

TEST(CommandLineForms, MalformedNumbersOnFlagsAreUsageErrors) {
  for (const std::string value : {"abc", "1s", " 1", "-1", "nan"}) {
    ExpectOneLineUsageError({"/s", "/f", "/v", "--attr-timeout", value}, "attr");
  }
  for (const std::string value : {"x", "-3", "4.5", "1e2", " 4"}) {
    ExpectOneLineUsageError({"/s", "/f", "/v", "--max-threads", value}, "max");
  }
}

TEST(CommandLineForms, TooFewArgumentsSayWhatIsMissing) {
  ExpectOneLineUsageError({}, "ORIGIN");
  ExpectOneLineUsageError({"/slow"}, "VIEW");
  ExpectOneLineUsageError({"-o", "cache=/fast", "/slow"}, "VIEW");
}

TEST(CommandLineForms, TooManyArgumentsNameTheExtraOne) {
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "/extra"}, "/extra");
  ExpectOneLineUsageError({"/slow", "/fast", "/view", "-f", "/extra", "/more"}, "/extra");
}

TEST(CommandLineForms, HelpAndVersionStopWithExitZero) {
  for (const std::string flag : {"--help", "-h", "--version"}) {
    Options options;
    ::testing::internal::CaptureStdout();
    const std::optional<int> exit_code = Parse({flag}, options);
    const std::string out = ::testing::internal::GetCapturedStdout();
    ASSERT_TRUE(exit_code.has_value()) << flag;
    EXPECT_EQ(*exit_code, kExitOk) << flag;
    EXPECT_TRUE(Mentions(out, "wtcachefs")) << flag << ": " << out;
  }
}

}  // namespace
}  // namespace wtcachefs
