// SPDX-License-Identifier: Apache-2.0
// Bad input to the real wtcachefs binary. For every mistake: the documented exit
// code (1 usage, 2 bad path, 3 mount failed), exactly one line on stderr that
// starts with "wtcachefs: ", names the offending path or option and says what to
// do, and nothing mounted at VIEW afterwards (nor a daemon left behind).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "integration/cli_fixtures.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

struct Expected {
  int exit_code;
  std::string names;   // the offending path or option, as the message must name it
  std::string advice;  // part of the "what to do" half of the message
};

std::string Joined(const std::vector<std::string>& args) {
  std::string joined;
  for (const std::string& a : args) joined += "'" + a + "' ";
  return joined;
}

// Checks the failure contract on a finished run.
void ExpectRefusal(const CommandResult& r, const Expected& expected,
                   const std::vector<std::string>& views) {
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, expected.exit_code);
  EXPECT_EQ(r.err.rfind("wtcachefs: ", 0), 0u) << "must start with 'wtcachefs: '";
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "must be exactly one line";
  EXPECT_FALSE(r.err.empty() || r.err.back() != '\n') << "the line must end with a newline";
  EXPECT_NE(r.err.find(expected.names), std::string::npos)
      << "must name '" << expected.names << "'";
  EXPECT_NE(r.err.find(expected.advice), std::string::npos)
      << "must say what to do ('" << expected.advice << "')";
  EXPECT_TRUE(r.out.empty()) << "nothing on stdout: " << r.out;
  for (const std::string& view : views) {
    EXPECT_FALSE(IsMountPoint(view)) << "something was left mounted at " << view;
    EXPECT_TRUE(LiveDaemonsFor(view).empty()) << "a daemon was left behind for " << view;
  }
}

class BadInputTest : public ::testing::Test {
 protected:
  // Runs `wtcachefs args... --cache-size 64M` in the form users type (it would
  // detach if it mounted) and checks the failure contract. `views` are the
  // directories that must not end up mounted (default: view_).
  void ExpectFailure(std::vector<std::string> args, const Expected& expected,
                     std::vector<std::string> views = {}) {
    if (views.empty()) views.push_back(view_);
    std::vector<std::unique_ptr<ViewTeardown>> teardowns;
    std::vector<std::string> argv = {WtcachefsBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!args.empty()) {
      argv.push_back("--cache-size");
      argv.push_back("64M");
    }
    for (const std::string& view : views) {
      teardowns.push_back(std::make_unique<ViewTeardown>(view));
    }
    const CommandResult r = RunCommand(argv, std::chrono::seconds(30));
    SCOPED_TRACE("wtcachefs " + Joined(args) + "-> exit " + std::to_string(r.exit_code) +
                 ", stderr: " + r.err);
    ExpectRefusal(r, expected, views);
  }

  std::string MakeFile(const std::string& name) {
    const std::string path = dir_.Sub(name, false);
    WriteFile(path, "not a directory");
    return path;
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
};

constexpr const char* kCreateIt = "create it or correct the path";
constexpr const char* kGiveADirectory = "give a directory";
constexpr const char* kNotNested = "use directories that do not contain each other";
constexpr const char* kDistinct = "give three different directories";
constexpr const char* kHelp = "wtcachefs --help";

TEST_F(BadInputTest, MissingOriginIsNamed) {
  const std::string missing = dir_.Sub("no-such-origin", false);
  ExpectFailure({missing, cache_, view_}, {kExitBadPath, missing, kCreateIt});
}

// A missing cache is not refused: its file system may not be mounted, and the
// view is served uncached (unusable_cache_test).

TEST_F(BadInputTest, MissingViewIsNamed) {
  const std::string missing = dir_.Sub("no-such-view", false);
  ExpectFailure({origin_, cache_, missing}, {kExitBadPath, missing, kCreateIt}, {missing});
  EXPECT_FALSE(::access(missing.c_str(), F_OK) == 0) << "the view must not be created";
}

TEST_F(BadInputTest, OriginThatIsNeitherADirectoryNorAnImageIsRefused) {
  // A regular file or a block device is an image origin; other kinds are not.
  const std::string fifo = dir_.Sub("origin-fifo", false);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  constexpr const char* kKinds = "is not a directory, a regular file or a block device";
  ExpectFailure({fifo, cache_, view_}, {kExitBadPath, fifo, kKinds});
  ExpectFailure({"/dev/null", cache_, view_}, {kExitBadPath, "/dev/null", kKinds});
}

TEST_F(BadInputTest, ImageOriginInsideViewIsRefused) {
  // Mounting over the image's own directory would hide it from the next mount.
  const std::string image = dir_.Sub("view/disk.img", false);
  WriteFile(image, "image");
  ExpectFailure({image, cache_, view_}, {kExitBadPath, image, kNotNested});
}

TEST_F(BadInputTest, CacheThatIsAFileIsRefused) {
  const std::string file = MakeFile("cache-file");
  ExpectFailure({origin_, file, view_}, {kExitBadPath, file, kGiveADirectory});
}

TEST_F(BadInputTest, ViewThatIsAFileIsRefused) {
  const std::string file = MakeFile("view-file");
  ExpectFailure({origin_, cache_, file}, {kExitBadPath, file, kGiveADirectory}, {file});
}

TEST_F(BadInputTest, ViewInsideOriginIsRefused) {
  const std::string inner = dir_.Sub("origin/view");
  ExpectFailure({origin_, cache_, inner}, {kExitBadPath, inner, kNotNested}, {inner});
}

TEST_F(BadInputTest, ViewInsideCacheIsRefused) {
  const std::string inner = dir_.Sub("cache/view");
  ExpectFailure({origin_, cache_, inner}, {kExitBadPath, inner, kNotNested}, {inner});
}

TEST_F(BadInputTest, CacheInsideOriginIsRefused) {
  const std::string inner = dir_.Sub("origin/cache");
  ExpectFailure({origin_, inner, view_}, {kExitBadPath, inner, kNotNested});
}

TEST_F(BadInputTest, OriginInsideCacheIsRefused) {
  const std::string inner = dir_.Sub("cache/origin");
  ExpectFailure({inner, cache_, view_}, {kExitBadPath, inner, kNotNested});
}

TEST_F(BadInputTest, OriginOrCacheInsideViewIsRefused) {
  const std::string origin_in_view = dir_.Sub("view/origin");
  const std::string cache_in_view = dir_.Sub("view/cache");
  ExpectFailure({origin_in_view, cache_, view_}, {kExitBadPath, origin_in_view, kNotNested});
  ExpectFailure({origin_, cache_in_view, view_}, {kExitBadPath, cache_in_view, kNotNested});
}

TEST_F(BadInputTest, NestingIsSeenThroughSymlinksAndDotDot) {
  const std::string link = dir_.Sub("link-to-origin", false);
  ASSERT_EQ(::symlink(origin_.c_str(), link.c_str()), 0);
  const std::string inner = dir_.Sub("origin/view");
  ExpectFailure({origin_, cache_, link + "/view"}, {kExitBadPath, inner, kNotNested}, {inner});
  ExpectFailure({origin_, cache_, cache_ + "/../origin/view"},
                {kExitBadPath, inner, kNotNested}, {inner});
}

TEST_F(BadInputTest, OriginAndCacheTheSameIsRefused) {
  ExpectFailure({origin_, origin_, view_}, {kExitBadPath, origin_, kDistinct});
}

TEST_F(BadInputTest, OriginAndViewTheSameIsRefused) {
  ExpectFailure({origin_, cache_, origin_}, {kExitBadPath, origin_, kDistinct}, {origin_});
}

TEST_F(BadInputTest, CacheAndViewTheSameIsRefused) {
  ExpectFailure({origin_, cache_, cache_}, {kExitBadPath, cache_, kDistinct}, {cache_});
}

TEST_F(BadInputTest, AllThreeTheSameIsRefused) {
  ExpectFailure({origin_, origin_, origin_}, {kExitBadPath, origin_, kDistinct}, {origin_});
}

TEST_F(BadInputTest, TheSameDirectoryThroughASymlinkIsRefused) {
  const std::string alias = dir_.Sub("alias", false);
  ASSERT_EQ(::symlink(cache_.c_str(), alias.c_str()), 0);
  ExpectFailure({origin_, cache_, alias}, {kExitBadPath, cache_, kDistinct}, {cache_});
}

// A cache on a read-only file system is not a mistake of the command: the view
// is served uncached (unusable_cache_test).

// ---- VIEW that is already a mount point: exit 2, naming what is mounted there ----

size_t MountsAt(const std::string& path) {
  const std::vector<MountEntry> table = MountTable();
  return static_cast<size_t>(std::count_if(table.begin(), table.end(),
                                           [&](const MountEntry& m) { return m.mount_point == path; }));
}

// Runs wtcachefs `args` (a second mount on `view`, which holds one mount) and
// checks the refusal: exit 2, one line naming the view and `mounted` (the
// type and source there, or the start of it), and still exactly one mount at
// `view`.
void ExpectMountPointRefused(const std::vector<std::string>& args, const std::string& view,
                             const std::string& mounted, const std::string& advice) {
  ASSERT_EQ(MountsAt(view), 1u);
  std::vector<std::string> argv = {WtcachefsBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--cache-size", "64M"});
  const CommandResult r = RunCommand(argv, std::chrono::seconds(30));
  SCOPED_TRACE("wtcachefs " + Joined(args) + "-> exit " + std::to_string(r.exit_code) +
               ", stderr: " + r.err);
  EXPECT_EQ(r.exit_code, kExitBadPath);
  EXPECT_EQ(r.err.rfind("wtcachefs: ", 0), 0u);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "must be exactly one line";
  EXPECT_NE(r.err.find("view '" + view + "' is already a mount point"), std::string::npos);
  EXPECT_NE(r.err.find("(" + mounted), std::string::npos);
  EXPECT_NE(r.err.find(" is mounted there): "), std::string::npos);
  EXPECT_NE(r.err.find(advice), std::string::npos);
  EXPECT_EQ(MountsAt(view), 1u) << "a second mount was stacked on " << view;
}

TEST_F(BadInputTest, ViewThatIsATmpfsMountPointIsRefusedNamingIt) {
  TmpfsMount tmpfs(view_, "size=1m", MS_RDONLY);
  ASSERT_TRUE(tmpfs.ok()) << "cannot mount a tmpfs at " << view_;
  ExpectMountPointRefused({origin_, cache_, view_}, view_, "tmpfs 'wtcachefs-test-ro'",
                          "unmount it first (umount '" + view_ + "'), or give another directory");
}

TEST_F(BadInputTest, ViewThatIsABindMountIsRefused) {
  ReadOnlyBindMount bind(view_);
  ASSERT_TRUE(bind.ok()) << "cannot bind-mount " << view_;
  std::string type;
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == view_) type = m.fstype;
  }
  ExpectMountPointRefused({origin_, view_, "-o", "cache=" + cache_}, view_, type + " '",
                          "unmount it first (umount '" + view_ + "')");
}

TEST_F(BadInputTest, ViewThatIsAlreadyAWtcachefsViewIsRefusedAndTheFirstKeepsServing) {
  MountedView first;
  ASSERT_TRUE(first.ok()) << first.failure();
  WriteFile(first.OriginPath("f"), "first");
  const std::string mounted = "fuse.wtcachefs '" + first.origin() + "'";
  const std::string advice = "unmount it first (fusermount3 -u '" + first.view() + "')";
  // Another origin and another cache, in the direct and in the helper form.
  ExpectMountPointRefused({origin_, cache_, first.view()}, first.view(), mounted, advice);
  ExpectMountPointRefused({origin_, first.view(), "-o", "cache=" + cache_}, first.view(),
                          mounted, advice);
  EXPECT_EQ(ReadFile(first.ViewPath("f")), "first");
  EXPECT_FALSE(std::filesystem::exists(cache_ + "/lock")) << "the second cache was touched";
  EXPECT_TRUE(first.Unmount());
}

TEST_F(BadInputTest, UnknownMountOptionIsAUsageErrorNamingIt) {
  ExpectFailure({origin_, cache_, view_, "-o", "rw,turbo,dev"}, {kExitUsage, "'turbo'", kHelp});
  ExpectFailure({origin_, view_, "-o", "rw,cache=" + cache_ + ",writeback=on"},
                {kExitUsage, "'writeback=on'", "remove it"});
}

TEST_F(BadInputTest, UnknownFlagIsAUsageErrorNamingIt) {
  ExpectFailure({origin_, cache_, view_, "--turbo"}, {kExitUsage, "--turbo", kHelp});
}

TEST_F(BadInputTest, BadOptionValueIsAUsageErrorNamingIt) {
  ExpectFailure({origin_, cache_, view_, "-o", "attr_timeout=abc"},
                {kExitUsage, "attr_timeout=abc", "example: attr_timeout="});
  ExpectFailure({origin_, cache_, view_, "-o", "block_size=3K"},
                {kExitUsage, "block_size", "power of two"});
}

// The names in `dir` other than "." and "..".
std::vector<std::string> EntriesOf(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST_F(BadInputTest, EmptyValueOfAFlagIsAUsageErrorNamingTheFlag) {
  struct Case {
    std::vector<std::string> flag;  // the flag and its empty value
    std::string names;
    std::string example;
  };
  const std::vector<Case> cases = {
      {{"--block-size", ""}, "--block-size", "example: --block-size 64K"},
      {{"--block-size="}, "--block-size", "example: --block-size 64K"},
      {{"--policy", ""}, "--policy", "lru, 2q or arc"},
      {{"--promote-after", ""}, "--promote-after", "example: --promote-after 2"},
      {{"--sequential-cutoff", ""}, "--sequential-cutoff", "example: --sequential-cutoff 4M"},
      {{"--write-policy", ""}, "--write-policy", "allocate or around"},
      {{"--read-ahead", ""}, "--read-ahead", "example: --read-ahead 4M"},
      {{"--log-level", ""}, "--log-level", "error, warning, info or debug"},
      {{"--revalidate", ""}, "--revalidate", "number of seconds"},
      {{"--attr-timeout", ""}, "--attr-timeout", "number of seconds"},
      {{"--entry-timeout", ""}, "--entry-timeout", "number of seconds"},
      {{"--max-threads", ""}, "--max-threads", "whole number"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {origin_, cache_, view_};
    args.insert(args.end(), c.flag.begin(), c.flag.end());
    ExpectFailure(args, {kExitUsage, c.names, c.example});
  }
  EXPECT_TRUE(EntriesOf(cache_).empty()) << "nothing may be created in CACHE";
}

TEST_F(BadInputTest, EmptyCacheSizeIsAUsageErrorNotTheDefault) {
  // ExpectFailure adds --cache-size 64M (CLI11 refuses a second one): these
  // give it themselves, empty. The
  // -o cache_size=64M only caps what a regression would allocate.
  for (const std::vector<std::string>& flag :
       std::vector<std::vector<std::string>>{{"--cache-size", ""}, {"--cache-size="}}) {
    std::vector<std::string> argv = {WtcachefsBinary(), origin_, cache_, view_};
    argv.insert(argv.end(), flag.begin(), flag.end());
    argv.insert(argv.end(), {"-o", "cache_size=64M"});
    ViewTeardown teardown(view_);
    const CommandResult r = RunCommand(argv, std::chrono::seconds(30));
    SCOPED_TRACE("exit " + std::to_string(r.exit_code) + ", stderr: " + r.err);
    ExpectRefusal(r, {kExitUsage, "--cache-size", "example: --cache-size 10G"}, {view_});
  }
  EXPECT_TRUE(EntriesOf(cache_).empty()) << "nothing may be created in CACHE";
}

TEST_F(BadInputTest, EmptyCacheFlagIsAUsageError) {
  ExpectFailure({origin_, view_, "--cache", ""}, {kExitUsage, "--cache", "a directory"});
}

TEST_F(BadInputTest, EmptyMountOptionValueIsAUsageErrorNamingTheOption) {
  // Every -o option that takes a value.
  const std::vector<std::string> names = {"cache_size",    "block_size",        "attr_timeout",
                                          "entry_timeout", "revalidate",        "max_threads",
                                          "promote_after", "sequential_cutoff", "policy",
                                          "write_policy",  "read_ahead",        "log_level",
                                          "fsname"};
  for (const std::string& name : names) {
    ExpectFailure({origin_, cache_, view_, "-o", "rw," + name + "=,dev"},
                  {kExitUsage, "-o " + name + "=", "example: -o " + name + "="});
    ExpectFailure({origin_, cache_, view_, "-o", name}, {kExitUsage, name, "needs a value"});
  }
  EXPECT_TRUE(EntriesOf(cache_).empty()) << "nothing may be created in CACHE";
}

TEST_F(BadInputTest, EmptyCacheOptionIsAUsageErrorAndCreatesNothing) {
  std::vector<std::string> before = EntriesOf(dir_.path());
  ExpectFailure({origin_, view_, "-o", "cache="}, {kExitUsage, "-o cache=", "a directory"});
  ExpectFailure({origin_, view_, "-o", "rw,cache=,dev"}, {kExitUsage, "-o cache=", "a directory"});
  std::vector<std::string> after = EntriesOf(dir_.path());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before) << "no cache directory may be created";
  for (const std::string& dir : {origin_, cache_, view_}) EXPECT_TRUE(EntriesOf(dir).empty());
}

TEST_F(BadInputTest, MalformedValuesAreUsageErrorsNamingTheOption) {
  const std::vector<std::pair<std::vector<std::string>, Expected>> cases = {
      {{"-o", "cache_size=10GB"}, {kExitUsage, "cache_size=10GB", "example"}},
      {{"-o", "cache_size=-1"}, {kExitUsage, "cache_size=-1", "example"}},
      {{"--block-size", "64KK"}, {kExitUsage, "block_size=64KK", "example"}},
      {{"--block-size", "3K"}, {kExitUsage, "block_size", "power of two"}},
      {{"--policy", "lru,cache=/tmp"}, {kExitUsage, "--policy", "lru, 2q or arc"}},
      {{"-o", "cache_size= 1G"}, {kExitUsage, "cache_size= 1G", "example"}},
      {{"-o", "max_threads=0"}, {kExitUsage, "max_threads", "between 1 and 1024"}},
      {{"-o", "max_threads=1x"}, {kExitUsage, "max_threads=1x", "example"}},
      {{"-o", "promote_after=0"}, {kExitUsage, "promote_after=0", "1 (promote every miss)"}},
      {{"-o", "revalidate=soon"}, {kExitUsage, "revalidate=soon", "example"}},
      {{"-o", "sequential_cutoff=4MB"}, {kExitUsage, "sequential_cutoff=4MB", "example"}},
      {{"-o", "policy=mru"}, {kExitUsage, "policy=mru", "lru, 2q or arc"}},
      {{"-o", "attr_timeout=nan"}, {kExitUsage, "attr_timeout", "seconds"}},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args = {origin_, cache_, view_};
    args.insert(args.end(), extra.begin(), extra.end());
    ExpectFailure(args, expected);
  }
  EXPECT_TRUE(EntriesOf(cache_).empty()) << "nothing may be created in CACHE";
}

TEST_F(BadInputTest, EmptyOptionListIsAUsageError) {
  ExpectFailure({origin_, cache_, view_, "-o", ""}, {kExitUsage, "-o", "example: -o cache="});
}

TEST_F(BadInputTest, MountOptionsLibfuseCannotPassAreRefusedBeforeMounting) {
  ExpectFailure({origin_, cache_, view_, "-o", "nodiratime"}, {kExitUsage, "'nodiratime'",
                                                                "remove it"});
  ExpectFailure({origin_, cache_, view_, "-o", "max_read=65536"},
                {kExitUsage, "'max_read=65536'", "remove it"});
  ExpectFailure({origin_, cache_, view_, "-o", "blksize=4096"},
                {kExitUsage, "'blksize=4096'", "remove it"});
}

TEST_F(BadInputTest, CacheGivenTwiceIsAUsageError) {
  ExpectFailure({origin_, cache_, view_, "-o", "cache=" + cache_},
                {kExitUsage, "CACHE given twice", "give it once"});
}

TEST_F(BadInputTest, HelperFormWithoutCacheIsAUsageError) {
  ExpectFailure({origin_, view_}, {kExitUsage, "CACHE", "-o cache=DIR"});
}

TEST_F(BadInputTest, TooFewArgumentsAreAUsageError) {
  ExpectFailure({}, {kExitUsage, "ORIGIN", "wtcachefs ORIGIN CACHE VIEW"});
  ExpectFailure({origin_}, {kExitUsage, "VIEW is missing", "wtcachefs ORIGIN CACHE VIEW"});
}

TEST_F(BadInputTest, TooManyArgumentsAreAUsageErrorNamingTheExtraOne) {
  const std::string extra = dir_.Sub("extra");
  ExpectFailure({origin_, cache_, view_, extra}, {kExitUsage, extra, "at most three paths"},
                {view_, extra});
}

// ---- the kernel mount itself fails: exit 3 --------------------------------------

// In a private mount namespace, hides /dev/fuse under an empty tmpfs: the kernel
// mount cannot be made, exactly as on a system without the fuse module.
bool HideDevFuse() {
  return ::unshare(CLONE_NEWNS) == 0 &&
         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         ::mount("wtcachefs-no-fuse", "/dev", "tmpfs", 0, "size=64k") == 0;
}

TEST_F(BadInputTest, MountFailsWithExit3WhenThereIsNoDevFuse) {
  ViewTeardown teardown(view_);
  for (const bool foreground : {true, false}) {
    std::vector<std::string> argv = {WtcachefsBinary(), origin_, cache_, view_, "--cache-size",
                                     "64M"};
    if (foreground) argv.push_back("-f");
    const CommandResult r = RunWithSetup(HideDevFuse, argv, std::chrono::seconds(30));
    ASSERT_NE(r.exit_code, 125) << "cannot set up a mount namespace without /dev/fuse";
    SCOPED_TRACE(std::string(foreground ? "-f" : "detaching") + " -> exit " +
                 std::to_string(r.exit_code) + ", stderr: " + r.err);
    ExpectRefusal(r, {kExitMountFailed, view_, "check that /dev/fuse exists"}, {view_});
    // libfuse's reason, as 3.14 and 3.17 ("fuse: device not found, try
    // 'modprobe fuse' first") and 3.18 ("fuse: device /dev/fuse not found.
    // Kernel module not loaded?") word it.
    EXPECT_NE(r.err.find("fuse: device"), std::string::npos) << "libfuse's reason";
    EXPECT_NE(r.err.find("not found"), std::string::npos) << "libfuse's reason";
  }
}

TEST_F(BadInputTest, MountRefusedToAnUnprivilegedUserExitsWith3) {
  // nobody may use ORIGIN and CACHE but may neither open /dev/fuse nor mount on a
  // root-owned VIEW.
  ViewTeardown teardown(view_);
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chown(origin_.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chown(cache_.c_str(), 65534, 65534), 0);
  const auto become_nobody = [] {
    return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
           ::setresuid(65534, 65534, 65534) == 0;
  };
  const CommandResult r = RunWithSetup(
      become_nobody, {WtcachefsBinary(), origin_, cache_, view_, "--cache-size", "64M"},
      std::chrono::seconds(30));
  ASSERT_NE(r.exit_code, 125) << "cannot become nobody";
  SCOPED_TRACE("exit " + std::to_string(r.exit_code) + ", stderr: " + r.err);
  ExpectRefusal(r, {kExitMountFailed, view_, "that you may mount there"}, {view_});
}

}  // namespace
}  // namespace wtcachefs::testing
