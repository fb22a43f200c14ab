// SPDX-License-Identifier: Apache-2.0
// Security of the cache and of the view (issue 7, point 5):
// - CACHE holds copies of other users' data: every file in it is 0600 and every
//   directory 0700, while mounted and after unmount (RocksDB's files included);
// - with allow_other the kernel checks callers against origin's modes
//   (default_permissions) unless that is explicitly turned off, and a user gets
//   through VIEW exactly what it gets on origin; without allow_other, nothing;
// - nothing in VIEW resolves outside ORIGIN: `..` of the root is VIEW's parent,
//   symlinks are returned as stored and never followed by the daemon, and the
//   daemon never creates anything outside ORIGIN;
// - an unprivileged user mounts and unmounts with fusermount3.
//
// Related coverage elsewhere: posix_permissions_test (reads, writes, access(2),
// ACLs as another user, against a reference directory), posix_links_test (symlink
// targets stored verbatim, lchown inside ORIGIN), cache_mount_test (slot file
// 0600), bad_input_test (an unprivileged mount on a root-owned VIEW is refused).
//
// Suites are named security_<topic> so that `ctest -R security` selects them.
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/cli_fixtures.h"
#include "integration/posix_helpers.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

constexpr uid_t kNobody = 65534;
const Identity kRootIdentity{0, 0, {}};

// ---- helpers ------------------------------------------------------------------

// Every entry below `root` (and `root` itself) whose mode is not the one asked
// for: regular files 0600, directories 0700, owned by `owner`; anything else
// (symlink, fifo, socket) is listed too, since it has no business in CACHE.
std::vector<std::string>* g_mode_violations = nullptr;
uid_t g_mode_owner = 0;

int CheckModeEntry(const char* path, const struct stat* st, int type, FTW*) {
  std::ostringstream problem;
  const mode_t perms = st->st_mode & 07777;
  if (type == FTW_F && S_ISREG(st->st_mode)) {
    if (perms != 0600) problem << "regular file mode " << std::oct << perms;
  } else if (type == FTW_D || type == FTW_DP) {
    if (perms != 0700) problem << "directory mode " << std::oct << perms;
  } else {
    problem << "unexpected file type " << std::oct << (st->st_mode & S_IFMT);
  }
  if (st->st_uid != g_mode_owner) {
    problem << (problem.str().empty() ? "" : ", ") << "owner " << std::dec << st->st_uid;
  }
  if (!problem.str().empty())
    g_mode_violations->push_back(std::string(path) + ": " + problem.str());
  return 0;
}

std::vector<std::string> ModeViolations(const std::string& root, uid_t owner) {
  std::vector<std::string> violations;
  g_mode_violations = &violations;
  g_mode_owner = owner;
  if (::nftw(root.c_str(), CheckModeEntry, 32, FTW_PHYS) != 0) {
    violations.push_back(root + ": cannot walk: " + ErrnoName(errno));
  }
  g_mode_violations = nullptr;
  return violations;
}

size_t CountEntries(const std::string& root) {
  static size_t count;
  count = 0;
  ::nftw(
      root.c_str(),
      [](const char*, const struct stat*, int, FTW*) {
        ++count;
        return 0;
      },
      32, FTW_PHYS);
  return count;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string joined;
  for (const std::string& line : lines) joined += "\n  " + line;
  return joined;
}

// The comma-separated options of the mount at `view`, one token each.
std::vector<std::string> SuperOptionTokens(const std::string& view) {
  std::vector<std::string> tokens;
  std::stringstream split(SuperOptionsOf(view));
  for (std::string token; std::getline(split, token, ',');) tokens.push_back(token);
  return tokens;
}

bool HasToken(const std::vector<std::string>& tokens, const std::string& token) {
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

struct stat StatOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "stat " << path << ": " << ErrnoName(errno);
    st = {};
  }
  return st;
}

std::string ReadLinkOf(const std::string& path) {
  char target[PATH_MAX + 1];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
  if (n < 0) return "<readlink failed: " + ErrnoName(errno) + ">";
  return std::string(target, static_cast<size_t>(n));
}

// The names directly in `dir`, without "." and "..", sorted.
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const std::string& name : SortedListing(dir)) {
    if (name != "." && name != "..") names.push_back(name);
  }
  return names;
}

// Everything the daemon could change about a file it must not touch.
struct Fingerprint {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  off_t size;
  struct timespec mtime, ctime;
  std::string xattr_names;

  static Fingerprint Of(const std::string& path) {
    const struct stat st = LstatOf(path);
    Fingerprint f{st.st_uid, st.st_gid, st.st_mode, st.st_size, st.st_mtim, st.st_ctim, {}};
    char names[4096];
    const ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
    f.xattr_names = n < 0 ? "<llistxattr: " + ErrnoName(errno) + ">"
                          : std::string(names, static_cast<size_t>(n));
    return f;
  }
  std::string Describe() const {
    std::ostringstream out;
    out << "uid " << uid << " gid " << gid << " mode " << std::oct << mode << std::dec << " size "
        << size << " mtime " << mtime.tv_sec << "." << mtime.tv_nsec << " ctime " << ctime.tv_sec
        << "." << ctime.tv_nsec << " xattrs [" << xattr_names << "]";
    return out.str();
  }
};

void ExpectUnchanged(const std::string& path, const Fingerprint& before) {
  EXPECT_EQ(Fingerprint::Of(path).Describe(), before.Describe())
      << path << " (outside ORIGIN) was changed through the view";
}

// ---- 1. modes inside CACHE ----------------------------------------------------

TEST(security_cache, EveryFileInCacheIs0600AndEveryDirectory0700MountedAndAfterUnmount) {
  // The most permissive umask, so that no mode in CACHE can owe its narrowness
  // to the umask the daemon happened to be started with.
  std::unique_ptr<MountedView> mount;
  {
    ScopedUmask permissive(0);
    mount = std::make_unique<MountedView>();
  }
  ASSERT_TRUE(mount->ok()) << mount->failure();
  // Data cached through reads and through writes, so that slots, mappings and
  // RocksDB's write-ahead log all exist.
  const std::string read_data = Pattern(3 << 20, 1);
  WriteFile(mount->OriginPath("read"), read_data);
  EXPECT_EQ(ReadFile(mount->ViewPath("read")), read_data);
  const std::string written = Pattern(2 << 20, 2);
  WriteFile(mount->ViewPath("written"), written);
  EXPECT_EQ(ReadFile(mount->ViewPath("written")), written);
  ASSERT_GT(CountEntries(mount->cache()), 3u) << "CACHE holds almost nothing: vacuous";

  std::vector<std::string> violations = ModeViolations(mount->cache(), ::getuid());
  EXPECT_TRUE(violations.empty()) << "while mounted:" << Joined(violations);

  ASSERT_TRUE(mount->Unmount());
  violations = ModeViolations(mount->cache(), ::getuid());
  EXPECT_TRUE(violations.empty()) << "after unmount:" << Joined(violations);

  // A remount opens the database again (new log, manifest, options files).
  {
    ScopedUmask permissive(0);
    ASSERT_TRUE(mount->Remount()) << mount->failure();
  }
  EXPECT_EQ(ReadFile(mount->ViewPath("read")), read_data);
  ASSERT_TRUE(mount->Unmount());
  violations = ModeViolations(mount->cache(), ::getuid());
  EXPECT_TRUE(violations.empty()) << "after a remount and unmount:" << Joined(violations);
}

// ---- 2. allow_other turns default_permissions on -------------------------------

TEST(security_mount_options, AllowOtherMountsWithDefaultPermissionsUnlessExplicitlyDisabled) {
  MountedView mount({"-o", "allow_other"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  std::vector<std::string> tokens = SuperOptionTokens(mount.view());
  EXPECT_TRUE(HasToken(tokens, "allow_other")) << SuperOptionsOf(mount.view());
  EXPECT_TRUE(HasToken(tokens, "default_permissions")) << SuperOptionsOf(mount.view());
  ASSERT_TRUE(mount.Unmount());

  ASSERT_TRUE(mount.RemountWith({"-o", "allow_other,no_default_permissions"})) << mount.failure();
  tokens = SuperOptionTokens(mount.view());
  EXPECT_TRUE(HasToken(tokens, "allow_other")) << SuperOptionsOf(mount.view());
  EXPECT_FALSE(HasToken(tokens, "default_permissions")) << SuperOptionsOf(mount.view());
  ASSERT_TRUE(mount.Unmount());

  ASSERT_TRUE(mount.RemountWith({"-o", "allow_other", "--no-default-permissions"}))
      << mount.failure();
  tokens = SuperOptionTokens(mount.view());
  EXPECT_TRUE(HasToken(tokens, "allow_other")) << SuperOptionsOf(mount.view());
  EXPECT_FALSE(HasToken(tokens, "default_permissions")) << SuperOptionsOf(mount.view());
}

// ---- 3. another user through VIEW gets what it gets on origin -----------------

class security_other_user : public ::testing::Test {
 protected:
  // Root-owned entries on ORIGIN: a 0600 file, a 0644 file, a 0700 directory
  // holding a 0644 file.
  void MakeOriginEntries(const MountedView& mount) {
    ASSERT_EQ(::chmod(mount.dir().path().c_str(), 0755), 0);
    WriteFile(mount.OriginPath("secret"), "secret content");
    ASSERT_EQ(::chmod(mount.OriginPath("secret").c_str(), 0600), 0);
    WriteFile(mount.OriginPath("public"), "public content");
    ASSERT_EQ(::chmod(mount.OriginPath("public").c_str(), 0644), 0);
    ASSERT_EQ(::mkdir(mount.OriginPath("private").c_str(), 0700), 0);
    ASSERT_EQ(::chmod(mount.OriginPath("private").c_str(), 0700), 0);
    WriteFile(mount.OriginPath("private/inside"), "inside");
    ASSERT_EQ(::chmod(mount.OriginPath("private/inside").c_str(), 0644), 0);
  }

  // Runs op on the view's and on origin's path as nobody; expects both errnos
  // to be `expected`.
  void ExpectAsNobody(const MountedView& mount, const std::string& what, const std::string& rel,
                      const std::function<long(const std::string&)>& op, int expected) {
    const int on_view = ErrnoAs(Nobody(), [&] { return op(mount.ViewPath(rel)); });
    const int on_origin = ErrnoAs(Nobody(), [&] { return op(mount.OriginPath(rel)); });
    ASSERT_NE(on_view, kChildFailed) << "could not run as nobody";
    EXPECT_EQ(ErrnoName(on_origin), ErrnoName(expected)) << what << " on origin";
    EXPECT_EQ(ErrnoName(on_view), ErrnoName(expected)) << what << " through the view";
  }
};

// read(2) of the whole file, which must equal `content`; EIO when it differs.
long ReadEquals(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::string got(content.size() + 16, '\0');
  const ssize_t n = ::read(fd, got.data(), got.size());
  const int saved = errno;
  ::close(fd);
  if (n < 0) {
    errno = saved;
    return -1;
  }
  got.resize(static_cast<size_t>(n));
  if (got != content) {
    errno = EIO;
    return -1;
  }
  return 0;
}

TEST_F(security_other_user, WithAllowOtherAUserGetsThroughViewExactlyWhatOriginGrants) {
  MountedView mount({"-o", "allow_other"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  MakeOriginEntries(mount);
  const auto open_with = [](int flags) {
    return [flags](const std::string& p) { return OpenClose(p, flags); };
  };
  ExpectAsNobody(mount, "read a 0600 root file", "secret", open_with(O_RDONLY), EACCES);
  ExpectAsNobody(mount, "list a 0700 root directory", "private", open_with(O_RDONLY | O_DIRECTORY),
                 EACCES);
  ExpectAsNobody(mount, "reach into a 0700 root directory", "private/inside", open_with(O_RDONLY),
                 EACCES);
  ExpectAsNobody(mount, "write a 0644 root file", "public", open_with(O_WRONLY), EACCES);
  ExpectAsNobody(
      mount, "truncate a 0644 root file", "public",
      [](const std::string& p) { return ::truncate(p.c_str(), 0); }, EACCES);
  ExpectAsNobody(
      mount, "create in a 0755 root directory", "new-by-nobody",
      [](const std::string& p) { return OpenClose(p, O_CREAT | O_WRONLY, 0644); }, EACCES);
  ExpectAsNobody(
      mount, "read a 0644 root file", "public",
      [](const std::string& p) { return ReadEquals(p, "public content"); }, 0);
  // Nothing was changed by the refused attempts.
  EXPECT_EQ(ReadFile(mount.OriginPath("public")), "public content");
  EXPECT_EQ(ErrnoOf([&] { return ::access(mount.OriginPath("new-by-nobody").c_str(), F_OK); }),
            ENOENT);
  // Root still reads everything, through the view as on origin.
  EXPECT_EQ(ErrnoAs(kRootIdentity,
                    [&] { return ReadEquals(mount.ViewPath("secret"), "secret content"); }),
            0);
}

TEST_F(security_other_user, WithoutAllowOtherAnotherUserCannotUseTheViewAtAll) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  MakeOriginEntries(mount);
  // On origin, nobody may read the public file and list the root...
  EXPECT_EQ(
      ErrnoAs(Nobody(), [&] { return ReadEquals(mount.OriginPath("public"), "public content"); }),
      0);
  EXPECT_EQ(ErrnoAs(Nobody(), [&] { return OpenClose(mount.origin(), O_RDONLY | O_DIRECTORY); }),
            0);
  // ...but through a view mounted without allow_other it may do nothing.
  EXPECT_EQ(ErrnoName(ErrnoAs(Nobody(),
                              [&] {
                                struct stat st;
                                return ::stat(mount.view().c_str(), &st);
                              })),
            ErrnoName(EACCES));
  EXPECT_EQ(
      ErrnoName(ErrnoAs(Nobody(), [&] { return OpenClose(mount.view(), O_RDONLY | O_DIRECTORY); })),
      ErrnoName(EACCES));
  EXPECT_EQ(
      ErrnoName(ErrnoAs(Nobody(), [&] { return OpenClose(mount.ViewPath("public"), O_RDONLY); })),
      ErrnoName(EACCES));
  // The mounting user (root) still may.
  EXPECT_EQ(ReadFile(mount.ViewPath("public")), "public content");
}

// ---- 4. nothing resolves outside ORIGIN ----------------------------------------

// A layout where ORIGIN and VIEW have different parents, so that a relative path
// resolved against ORIGIN lands elsewhere than the same path resolved against
// VIEW:
//   T/o/origin       ORIGIN            T/o/sentinel       where the daemon would land
//   T/v/deep/view    VIEW              T/v/deep/sentinel  where the kernel lands
//   T/outside/target a file outside ORIGIN that links point at
//   T/cache          CACHE
class security_links : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Sub("o");  // created by Sub
    dir_.Sub("v");
    ASSERT_EQ(::mkdir(dir_.Sub("v/deep", false).c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(origin_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(view_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(daemon_side_sentinel_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(kernel_side_sentinel_.c_str(), 0755), 0);
    WriteFile(target_, "outside");
    ASSERT_EQ(::chown(target_.c_str(), 4321, 4321), 0);
    ASSERT_EQ(::chmod(target_.c_str(), 0640), 0);
    const struct timespec times[2] = {{1000000, 0}, {2000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, target_.c_str(), times, 0), 0);
    target_before_ = Fingerprint::Of(target_);
    target_recorded_ = true;
  }

  void Mount() {
    std::string failure;
    daemon_ = StartForegroundMount(
        {WtcachefsBinary(), origin_, cache_, view_, "-f", "--cache-size", "64M"}, view_, &failure);
    ASSERT_NE(daemon_, nullptr) << failure;
  }

  void TearDown() override {
    if (daemon_) {
      EXPECT_TRUE(StopForegroundMount(daemon_, view_, std::chrono::seconds(20)));
    }
    // Whatever the test did, nothing appeared where only a daemon that resolves
    // names against ORIGIN itself would have put it.
    EXPECT_TRUE(Entries(daemon_side_sentinel_).empty())
        << "the daemon created outside ORIGIN: " << Joined(Entries(daemon_side_sentinel_));
    if (target_recorded_) {
      ExpectUnchanged(target_, target_before_);
    }
  }

  std::string O(const std::string& rel) const { return origin_ + "/" + rel; }
  std::string V(const std::string& rel) const { return view_ + "/" + rel; }

  TempDir dir_;
  std::string origin_ = dir_.Sub("o/origin", false);
  std::string daemon_side_sentinel_ = dir_.Sub("o/sentinel", false);
  std::string view_ = dir_.Sub("v/deep/view", false);
  std::string kernel_side_sentinel_ = dir_.Sub("v/deep/sentinel", false);
  std::string outside_ = dir_.Sub("outside");
  std::string target_ = outside_ + "/target";
  std::string cache_ = dir_.Sub("cache");
  Fingerprint target_before_{};
  bool target_recorded_ = false;
  ViewTeardown teardown_{view_};
  std::unique_ptr<ChildProcess> daemon_;
};

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

TEST_F(security_links, DotDotOfTheViewRootIsTheViewsParentNotTheOrigins) {
  ASSERT_EQ(::mkdir(O("sub").c_str(), 0755), 0);
  Mount();
  const struct stat view_parent = StatOf(dir_.Sub("v/deep", false));
  const struct stat origin_parent = StatOf(dir_.Sub("o", false));
  ASSERT_FALSE(SameFile(view_parent, origin_parent));
  EXPECT_TRUE(SameFile(StatOf(view_ + "/.."), view_parent));
  EXPECT_TRUE(SameFile(StatOf(V("sub/../..")), view_parent));
  EXPECT_TRUE(SameFile(StatOf(view_ + "/../.."), StatOf(dir_.Sub("v", false))));
  // Relative to a descriptor of the view's root, as openat(2) users do.
  const int root_fd = ::open(view_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root_fd, 0);
  const int up_fd = ::openat(root_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ::close(root_fd);
  ASSERT_GE(up_fd, 0);
  struct stat up;
  ASSERT_EQ(::fstat(up_fd, &up), 0);
  ::close(up_fd);
  EXPECT_TRUE(SameFile(up, view_parent));
  // Going up from the view reaches the view's neighbours, not ORIGIN's.
  EXPECT_TRUE(SameFile(StatOf(view_ + "/../sentinel"), StatOf(kernel_side_sentinel_)));
}

TEST_F(security_links, SymlinksPointingOutsideAreReadBackExactlyAsStored) {
  ASSERT_EQ(::mkdir(O("sub").c_str(), 0755), 0);
  // From T/o/origin/sub, three levels up is T; from T/v/deep/view/sub it is T/v.
  const std::string relative = "../../../outside/target";
  const std::vector<std::pair<std::string, std::string>> links = {
      {"passwd", "/etc/passwd"},
      {"absolute", target_},
      {"sub/relative", relative},
      {"sub/far-up", "../../../../../../../../../../../etc/shadow"},
  };
  for (const auto& [rel, target] : links) {
    ASSERT_EQ(::symlink(target.c_str(), O(rel).c_str()), 0) << rel;
  }
  Mount();
  for (const auto& [rel, target] : links) {
    EXPECT_EQ(ReadLinkOf(V(rel)), target) << rel;
    const struct stat v = LstatOf(V(rel));
    const struct stat o = LstatOf(O(rel));
    EXPECT_TRUE(S_ISLNK(v.st_mode)) << rel;
    EXPECT_EQ(v.st_ino, o.st_ino) << rel;
    EXPECT_EQ(v.st_size, static_cast<off_t>(target.size())) << rel;
  }
  // Following is the kernel's business, relative to where the link is seen: the
  // relative link resolves to T/outside/target on origin but to the missing
  // T/v/outside/target through the view.
  EXPECT_TRUE(SameFile(StatOf(O("sub/relative")), StatOf(target_)));
  EXPECT_EQ(ErrnoName(ErrnoOf([&] {
              struct stat st;
              return ::stat(V("sub/relative").c_str(), &st);
            })),
            ErrnoName(ENOENT));
  EXPECT_TRUE(SameFile(StatOf(V("absolute")), StatOf(target_)));
  // O_NOFOLLOW on a link through the view fails as it does on origin.
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return OpenClose(V("absolute"), O_RDONLY | O_NOFOLLOW); })),
            ErrnoName(ELOOP));
}

TEST_F(security_links, OperationsThatDoNotFollowChangeTheLinkAndNeverItsTargetOutside) {
  ASSERT_EQ(::mkdir(O("sub").c_str(), 0755), 0);
  // Through the view, `absolute` resolves outside ORIGIN; `sub/relative` does
  // only when resolved against ORIGIN, which is what a daemon following it would do.
  ASSERT_EQ(::symlink(target_.c_str(), O("absolute").c_str()), 0);
  ASSERT_EQ(::symlink("../../../outside/target", O("sub/relative").c_str()), 0);
  // The same kind of link on origin itself, acted on directly for comparison.
  const std::string reference = dir_.Sub("o/reference-link", false);
  ASSERT_EQ(::symlink(target_.c_str(), reference.c_str()), 0);
  Mount();

  for (const std::string rel : {"absolute", "sub/relative"}) {
    SCOPED_TRACE(rel);
    const std::string v = V(rel);
    const ino_t link_ino = LstatOf(O(rel)).st_ino;

    // lstat sees the link.
    const struct stat seen = LstatOf(v);
    EXPECT_TRUE(S_ISLNK(seen.st_mode));
    EXPECT_EQ(seen.st_ino, link_ino);

    // lchown changes the link's owner.
    EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::lchown(v.c_str(), 1234, 5678); })), "0");
    EXPECT_EQ(LstatOf(O(rel)).st_uid, 1234u);
    EXPECT_EQ(LstatOf(O(rel)).st_gid, 5678u);

    // utimensat with AT_SYMLINK_NOFOLLOW sets the link's times.
    const struct timespec times[2] = {{3000000, 5}, {4000000, 7}};
    EXPECT_EQ(ErrnoName(ErrnoOf(
                  [&] { return ::utimensat(AT_FDCWD, v.c_str(), times, AT_SYMLINK_NOFOLLOW); })),
              "0");
    EXPECT_EQ(LstatOf(O(rel)).st_mtim.tv_sec, 4000000);
    EXPECT_EQ(LstatOf(O(rel)).st_mtim.tv_nsec, 7);
    EXPECT_EQ(LstatOf(O(rel)).st_atim.tv_sec, 3000000);

    // fchmodat with AT_SYMLINK_NOFOLLOW: whatever origin answers for a link.
    const int chmod_origin =
        ErrnoOf([&] { return ::fchmodat(AT_FDCWD, reference.c_str(), 0777, AT_SYMLINK_NOFOLLOW); });
    EXPECT_EQ(ErrnoName(ErrnoOf(
                  [&] { return ::fchmodat(AT_FDCWD, v.c_str(), 0777, AT_SYMLINK_NOFOLLOW); })),
              ErrnoName(chmod_origin));

    // lsetxattr in the user namespace: symlinks take none (EPERM), as on origin.
    const int user_origin =
        ErrnoOf([&] { return ::lsetxattr(reference.c_str(), "user.probe", "u", 1, 0); });
    EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::lsetxattr(v.c_str(), "user.probe", "u", 1, 0); })),
              ErrnoName(user_origin));

    // lsetxattr in the trusted namespace reaches the daemon: it lands on the link.
    const int trusted_origin =
        ErrnoOf([&] { return ::lsetxattr(reference.c_str(), "trusted.probe", "t", 1, 0); });
    EXPECT_EQ(
        ErrnoName(ErrnoOf([&] { return ::lsetxattr(v.c_str(), "trusted.probe", "t", 1, 0); })),
        ErrnoName(trusted_origin));
    if (trusted_origin == 0) {
      char value[8];
      EXPECT_EQ(::lgetxattr(O(rel).c_str(), "trusted.probe", value, sizeof(value)), 1)
          << ErrnoName(errno);
      EXPECT_EQ(::lgetxattr(v.c_str(), "trusted.probe", value, sizeof(value)), 1)
          << ErrnoName(errno);
      EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::lremovexattr(v.c_str(), "trusted.probe"); })),
                "0");
      EXPECT_EQ(ErrnoName(ErrnoOf([&] {
                  return ::lgetxattr(O(rel).c_str(), "trusted.probe", value, sizeof(value));
                })),
                ErrnoName(ENODATA));
    }

    // The link is still the same link, with the same target.
    EXPECT_EQ(LstatOf(O(rel)).st_ino, link_ino);
    EXPECT_TRUE(S_ISLNK(LstatOf(O(rel)).st_mode));
    ExpectUnchanged(target_, target_before_);
  }
}

TEST_F(security_links, CreatingThroughALinkToOutsideGoesWhereTheKernelResolvesIt) {
  // From ORIGIN, "../sentinel" is T/o/sentinel; seen in VIEW it is T/v/deep/sentinel.
  ASSERT_EQ(::symlink("../sentinel", O("out-relative").c_str()), 0);
  ASSERT_EQ(::symlink(kernel_side_sentinel_.c_str(), O("out-absolute").c_str()), 0);
  Mount();
  // The kernel follows the link the daemon returns, relative to VIEW, and creates
  // the entry there itself: the daemon is not asked to create anything.
  EXPECT_EQ(ErrnoName(ErrnoOf([&] {
              return OpenClose(V("out-relative/by-relative"), O_CREAT | O_EXCL | O_WRONLY);
            })),
            "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::mkdir(V("out-relative/dir").c_str(), 0755); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] {
              return OpenClose(V("out-absolute/by-absolute"), O_CREAT | O_EXCL | O_WRONLY);
            })),
            "0");
  EXPECT_EQ(Entries(kernel_side_sentinel_),
            (std::vector<std::string>{"by-absolute", "by-relative", "dir"}));
  // ORIGIN holds only its two links; T/o/sentinel is checked empty in TearDown.
  EXPECT_EQ(Entries(origin_), (std::vector<std::string>{"out-absolute", "out-relative"}));
  EXPECT_TRUE(S_ISLNK(LstatOf(O("out-relative")).st_mode));
}

TEST_F(security_links, DirectoryReplacedByALinkBehindTheMountIsNeverFollowedByTheDaemon) {
  ASSERT_EQ(::mkdir(O("dir").c_str(), 0755), 0);
  Mount();
  const int dir_fd = ::open(V("dir").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir_fd, 0) << ErrnoName(errno);
  // Behind the mount, `dir` becomes a link to the sentinel beside ORIGIN.
  ASSERT_EQ(::rename(O("dir").c_str(), O("dir-moved").c_str()), 0);
  ASSERT_EQ(::symlink(daemon_side_sentinel_.c_str(), O("dir").c_str()), 0);
  // Creating relative to the open directory names the directory the kernel
  // holds: the daemon must create in it, not resolve `dir` again on ORIGIN.
  const int file_fd = ::openat(dir_fd, "file", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  EXPECT_GE(file_fd, 0) << ErrnoName(errno);
  if (file_fd >= 0) ::close(file_fd);
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::mkdirat(dir_fd, "subdir", 0755); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::symlinkat("file", dir_fd, "link"); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::mknodat(dir_fd, "fifo", S_IFIFO | 0644, 0); })), "0");
  ::close(dir_fd);
  EXPECT_EQ(Entries(O("dir-moved")), (std::vector<std::string>{"fifo", "file", "link", "subdir"}));
  EXPECT_EQ(ReadLinkOf(O("dir")), daemon_side_sentinel_);
}

TEST_F(security_links, FileReplacedByALinkBehindTheMountIsNeverFollowedByTheDaemon) {
  WriteFile(O("file"), "inside origin");
  Mount();
  const int fd = ::open(V("file").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  // Behind the mount, `file` becomes a link to the file outside ORIGIN.
  ASSERT_EQ(::rename(O("file").c_str(), O("file-moved").c_str()), 0);
  ASSERT_EQ(::symlink(target_.c_str(), O("file").c_str()), 0);
  // Data and metadata changes on the open file reach the file the kernel holds
  // (times last: writes would set them to now).
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::pwrite(fd, "INSIDE", 6, 0); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::ftruncate(fd, 8); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::fsync(fd); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::fchown(fd, 1234, 5678); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::fchmod(fd, 0604); })), "0");
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::fsetxattr(fd, "user.probe", "f", 1, 0); })), "0");
  const struct timespec times[2] = {{5000000, 0}, {6000000, 0}};
  EXPECT_EQ(ErrnoName(ErrnoOf([&] { return ::futimens(fd, times); })), "0");
  ::close(fd);
  const struct stat moved = LstatOf(O("file-moved"));
  EXPECT_EQ(moved.st_uid, 1234u);
  EXPECT_EQ(moved.st_gid, 5678u);
  EXPECT_EQ(moved.st_mode & 07777, 0604u);
  EXPECT_EQ(moved.st_mtim.tv_sec, 6000000);
  char value[8];
  EXPECT_EQ(::getxattr(O("file-moved").c_str(), "user.probe", value, sizeof(value)), 1);
  EXPECT_EQ(ReadFile(O("file-moved")), "INSIDE o");
  EXPECT_EQ(ReadFile(target_), "outside");
}

// ---- 5. an unprivileged user mounts with fusermount3 --------------------------

class security_user_mount : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = UserMountsUnavailable(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    if (ErrnoAs(Nobody(), [] { return OpenClose("/dev/fuse", O_RDWR); }) != 0) {
      // fusermount3 opens /dev/fuse with the caller's own file-system uid: user
      // mounts need the node open to all, as a stock system has it (0666). Where
      // it is not (a container's node), this test gets such a node in a private
      // mount namespace of its own; nothing outside the test process sees it.
      std::string why;
      ASSERT_TRUE(BindOpenFuseDevice(&why)) << why;
    }
    for (const std::string& d : {origin_, cache_, view_}) {
      ASSERT_EQ(::chown(d.c_str(), kNobody, kNobody), 0) << d;
      ASSERT_EQ(::chmod(d.c_str(), 0755), 0) << d;
    }
  }

  void TearDown() override {
    if (daemon_) StopForegroundMount(daemon_, view_, std::chrono::seconds(20));
  }

  // Moves this process into a private mount namespace and bind-mounts a 0666
  // FUSE device node over /dev/fuse there.
  bool BindOpenFuseDevice(std::string* why) {
    return EnterPrivateMountNamespace(why) && BindFuseDeviceOpenToAll(dir_.path(), why);
  }

  // argv run as nobody, with no supplementary groups.
  static std::vector<std::string> AsNobody(std::vector<std::string> argv) {
    std::vector<std::string> full = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::string cache_ = dir_.Sub("cache");
  std::string view_ = dir_.Sub("view");
  ViewTeardown teardown_{view_};
  std::unique_ptr<ChildProcess> daemon_;
};

TEST_F(security_user_mount, UnprivilegedUserMountsWritesReadsBackAndUnmountsWithFusermount3) {
  std::string failure;
  daemon_ = StartForegroundMount(
      AsNobody({WtcachefsBinary(), origin_, cache_, view_, "-f", "--cache-size", "64M"}), view_,
      &failure);
  ASSERT_NE(daemon_, nullptr) << "as uid 65534: " << failure;
  const std::vector<std::string> tokens = SuperOptionTokens(view_);
  EXPECT_TRUE(HasToken(tokens, "user_id=65534")) << SuperOptionsOf(view_);
  EXPECT_FALSE(HasToken(tokens, "allow_other")) << SuperOptionsOf(view_);

  // The mounting user writes through the view and reads it back.
  const std::string content = Pattern(256 << 10, 3);
  EXPECT_EQ(ErrnoName(ErrnoAs(Nobody(),
                              [&] {
                                const int fd =
                                    ::open((view_ + "/by-user").c_str(),
                                           O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
                                if (fd < 0) return -1L;
                                const ssize_t n = ::write(fd, content.data(), content.size());
                                const int saved = errno;
                                const bool synced = ::fsync(fd) == 0;
                                ::close(fd);
                                errno = saved;
                                if (n != static_cast<ssize_t>(content.size())) {
                                  if (n >= 0) errno = EIO;
                                  return -1L;
                                }
                                return synced ? 0L : -1L;
                              })),
            "0");
  EXPECT_EQ(ErrnoName(ErrnoAs(Nobody(), [&] { return ReadEquals(view_ + "/by-user", content); })),
            "0");
  // It is on ORIGIN, owned by that user, and CACHE is that user's alone.
  EXPECT_EQ(ReadFile(origin_ + "/by-user"), content);
  EXPECT_EQ(LstatOf(origin_ + "/by-user").st_uid, kNobody);
  const std::vector<std::string> violations = ModeViolations(cache_, kNobody);
  EXPECT_TRUE(violations.empty()) << Joined(violations);

  // The user unmounts it; the daemon exits cleanly.
  const CommandResult unmount =
      RunCommand(AsNobody({"fusermount3", "-u", view_}), std::chrono::seconds(20));
  EXPECT_EQ(unmount.exit_code, 0) << unmount.err;
  EXPECT_TRUE(WaitForMountState(view_, false));
  const CommandResult exited = daemon_->Wait(std::chrono::seconds(20));
  daemon_.reset();
  EXPECT_EQ(exited.exit_code, 0) << "signal " << exited.signal << ", stderr: " << exited.err;
}

}  // namespace
}  // namespace wtcachefs::testing
