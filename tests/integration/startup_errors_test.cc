// Mistakes at startup: one clear line on stderr naming the path or option and
// what to do, the documented exit code, and nothing left mounted.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/exit_codes.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

class StartupErrorsTest : public ::testing::Test {
 protected:
  // Runs wtcachefs with `args` and checks the failure contract.
  void ExpectFailure(const std::vector<std::string>& args, int exit_code,
                     const std::string& must_mention, const std::string& view) {
    std::vector<std::string> argv = {WtcachefsBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("-f");
    const CommandResult r = RunCommand(argv, std::chrono::seconds(20));
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined + "-> " + r.err);
    EXPECT_EQ(r.exit_code, exit_code);
    EXPECT_EQ(r.err.rfind("wtcachefs: ", 0), 0u);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "exactly one line";
    EXPECT_NE(r.err.find(must_mention), std::string::npos);
    EXPECT_FALSE(IsMountPoint(view)) << "something was left mounted";
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
};

TEST_F(StartupErrorsTest, MissingDirectoriesAreNamed) {
  ExpectFailure({dir_.Sub("nope", false), cache_, view_}, kExitBadPath, "nope", view_);
  ExpectFailure({origin_, dir_.Sub("nocache", false), view_}, kExitBadPath, "nocache", view_);
  ExpectFailure({origin_, cache_, dir_.Sub("noview", false)}, kExitBadPath, "noview",
                dir_.Sub("noview", false));
  ExpectFailure({origin_, cache_, dir_.Sub("noview", false)}, kExitBadPath, "does not exist",
                dir_.Sub("noview", false));
}

TEST_F(StartupErrorsTest, FilesWhereDirectoriesAreNeededAreRefused) {
  const std::string file = dir_.Sub("file", false);
  WriteFile(file, "x");
  ExpectFailure({file, cache_, view_}, kExitBadPath, "not a directory", view_);
  ExpectFailure({origin_, file, view_}, kExitBadPath, file, view_);
  ExpectFailure({origin_, cache_, file}, kExitBadPath, file, file);
}

TEST_F(StartupErrorsTest, NestedDirectoriesAreRefused) {
  const std::string view_in_origin = origin_ + "/v";
  const std::string view_in_cache = cache_ + "/v";
  const std::string cache_in_origin = origin_ + "/c";
  const std::string origin_in_cache = cache_ + "/o";
  for (const auto& d : {view_in_origin, view_in_cache, cache_in_origin, origin_in_cache}) {
    ::mkdir(d.c_str(), 0755);
  }
  ExpectFailure({origin_, cache_, view_in_origin}, kExitBadPath, "inside", view_in_origin);
  ExpectFailure({origin_, cache_, view_in_cache}, kExitBadPath, "inside", view_in_cache);
  ExpectFailure({origin_, cache_in_origin, view_}, kExitBadPath, "inside", view_);
  ExpectFailure({origin_in_cache, cache_, view_}, kExitBadPath, "inside", view_);
}

TEST_F(StartupErrorsTest, TheSamePathTwiceIsRefused) {
  ExpectFailure({origin_, origin_, view_}, kExitBadPath, "same directory", view_);
  ExpectFailure({origin_, cache_, origin_}, kExitBadPath, "same directory", origin_);
  ExpectFailure({origin_, cache_, cache_}, kExitBadPath, "same directory", cache_);
  // Through a symlink it is still the same directory.
  const std::string alias = dir_.Sub("alias", false);
  ASSERT_EQ(::symlink(origin_.c_str(), alias.c_str()), 0);
  ExpectFailure({alias, origin_, view_}, kExitBadPath, "same directory", view_);
}

TEST_F(StartupErrorsTest, UnwritableCacheIsRefused) {
  // Root may write anywhere a mode allows nothing: make it a read-only mount.
  ASSERT_EQ(::mount(cache_.c_str(), cache_.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, cache_.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), 0);
  ExpectFailure({origin_, cache_, view_}, kExitBadPath, "not writable", view_);
  ::umount2(cache_.c_str(), MNT_DETACH);
}

TEST_F(StartupErrorsTest, UnknownOptionAndWrongArgumentsAreUsageErrors) {
  ExpectFailure({origin_, cache_, view_, "-o", "rw,turbo"}, kExitUsage, "turbo", view_);
  ExpectFailure({origin_, cache_, view_, "--turbo"}, kExitUsage, "--turbo", view_);
  ExpectFailure({origin_}, kExitUsage, "wtcachefs --help", view_);
  ExpectFailure({origin_, view_}, kExitUsage, "cache", view_);
  ExpectFailure({origin_, cache_, view_, "-o", "attr_timeout=later"}, kExitUsage,
                "attr_timeout", view_);
}

TEST_F(StartupErrorsTest, RefusedKernelMountExitsWithMountFailed) {
  // The kernel mount is refused to an unprivileged user here (no access to
  // /dev/fuse, or no write access to a root-owned mount point).
  ::chmod(dir_.path().c_str(), 0755);
  ASSERT_EQ(::chown(origin_.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chown(cache_.c_str(), 65534, 65534), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(100);
    }
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDOUT_FILENO);
    ::execl(WtcachefsBinary().c_str(), "wtcachefs", origin_.c_str(), cache_.c_str(),
            view_.c_str(), "-f", "--cache-size", "64M", static_cast<char*>(nullptr));
    ::_exit(101);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitMountFailed);
  EXPECT_FALSE(IsMountPoint(view_));
}

}  // namespace
}  // namespace wtcachefs::testing
