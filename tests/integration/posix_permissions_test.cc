// SPDX-License-Identifier: Apache-2.0
// Permissions and ownership through VIEW are origin's: the kernel checks the
// caller against origin's mode and owner (default_permissions), what a user
// creates through VIEW belongs to that user on origin, and a user's change of a
// file's data drops its setuid and setgid bits as the origin's filesystem would.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "integration/posix_helpers.h"
#include "support/image_mount.h"

namespace wtcachefs::testing {
namespace {

const Identity kRoot{0, 0, {}};

// One file of a privilege-bits case: its mode and owner, and who changes it.
struct PrivilegeCase {
  mode_t mode;
  uid_t uid;
  gid_t gid;
  Identity who;
};

class posix_permissions : public PosixViewTest {
 protected:
  // For each case: makes the file on origin and on the reference, opens it with
  // `open_flags` and calls `change` on it as the case's caller, on the view and
  // on the reference, and expects the same result, and the same mode on origin
  // (and through the view) as the origin's filesystem left on the reference.
  // Returns the reference's permission bits of each case after the change.
  std::vector<mode_t> ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(
      const std::vector<PrivilegeCase>& cases, int open_flags,
      const std::function<long(int)>& change);

  // The same for fallocate(fd, `mode`, `offset`, `length`).
  std::vector<mode_t> ExpectPrivilegeBitsAfterFallocateAsOnOrigin(
      const std::vector<PrivilegeCase>& cases, int mode, off_t offset, off_t length) {
    return ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(cases, O_WRONLY, [=](int fd) {
      return static_cast<long>(::fallocate(fd, mode, offset, length));
    });
  }
};

void MakeFile(const std::string& path, mode_t mode, uid_t uid = 0, gid_t gid = 0);

// Opens `path` with `flags`, calls `change` on the descriptor and closes it;
// returns what `change` returned, with its errno.
long ChangeOpenFile(const std::string& path, int flags, const std::function<long(int)>& change) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return -1L;
  const long result = change(fd);
  const int error = errno;
  ::close(fd);
  errno = error;
  return result;
}

std::vector<mode_t> posix_permissions::ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(
    const std::vector<PrivilegeCase>& cases, int open_flags,
    const std::function<long(int)>& change) {
  std::vector<mode_t> after;
  for (size_t i = 0; i < cases.size(); ++i) {
    const PrivilegeCase& c = cases[i];
    const std::string rel = "bits" + std::to_string(i);
    for (const std::string& p : {O(rel), R(rel)}) MakeFile(p, c.mode, c.uid, c.gid);
    char trace[96];
    std::snprintf(trace, sizeof(trace), "%s: mode %04o owner %u:%u, caller uid %u gid %u",
                  rel.c_str(), c.mode, c.uid, c.gid, c.who.uid, c.who.gid);
    SCOPED_TRACE(trace);
    EXPECT_EQ(ExpectSameErrnoAs(
                  c.who,
                  [&](const std::string& p) { return ChangeOpenFile(p, open_flags, change); },
                  rel),
              0);
    const mode_t reference = LstatOf(R(rel)).st_mode;
    EXPECT_EQ(LstatOf(O(rel)).st_mode, reference);
    EXPECT_EQ(LstatOf(V(rel)).st_mode, reference);
    EXPECT_EQ(LstatOf(O(rel)).st_size, LstatOf(R(rel)).st_size);
    after.push_back(reference & 07777);
  }
  return after;
}

// Identities for the privilege-bits cases: the file's group is 0 (root) unless
// a case says otherwise.
const Identity kGroupMember{65534, 65534, {0}};  // nobody, also in group 0
const Identity kRootInAnotherGroup{0, 1234, {}};

// The cases every data-changing call is checked with. Each is compared with
// what the origin's filesystem does for the same caller; ExpectTheCoreCases
// also states the main ones outright, as ext4 decides them
// (setattr_should_drop_suidgid).
const std::vector<PrivilegeCase> kPrivilegeCases = {
    {02666, 0, 0, Nobody()},             // not in the group: setgid goes
    {02666, 0, 0, kGroupMember},         // in the group, no group exec: setgid stays
    {06777, 0, 0, kRoot},                // privileged: both stay
    {06777, 0, 0, Nobody()},             // both go
    {06777, 0, 0, kGroupMember},         // group exec: setgid goes even for a member
    {04766, 0, 0, Nobody()},             // setuid goes
    {02676, 0, 0, kGroupMember},         // group exec: setgid goes
    {06666, 65534, 65534, Nobody()},     // the owner, in its group: setuid goes only
    {02666, 65534, 65534, Nobody()},     // the owner: setgid stays
    {06666, 0, 0, kRootInAnotherGroup},  // privileged whatever its group
    {02666, 0, 0, kRootInAnotherGroup},
};

void ExpectTheCoreCases(const std::vector<mode_t>& after) {
  ASSERT_EQ(after.size(), kPrivilegeCases.size());
  EXPECT_EQ(after[0], 0666u) << "an unprivileged caller outside the group loses setgid";
  EXPECT_EQ(after[1], 02666u) << "a member keeps setgid without group exec";
  EXPECT_EQ(after[2], 06777u) << "root keeps both";
  EXPECT_EQ(after[3], 0777u);
  EXPECT_EQ(after[9], 06666u) << "root keeps both, whatever its group";
  EXPECT_EQ(after[10], 02666u);
}

// Creates directory `rel` in ORIGIN and in the reference directory with the given
// owner and mode (set after creation, so the umask does not interfere).
void MakeSharedDir(const std::string& origin_path, const std::string& reference_path,
                   mode_t mode, uid_t uid = 0, gid_t gid = 0) {
  for (const std::string& p : {origin_path, reference_path}) {
    ASSERT_EQ(::mkdir(p.c_str(), 0700), 0) << p;
    ASSERT_EQ(::chown(p.c_str(), uid, gid), 0) << p;
    ASSERT_EQ(::chmod(p.c_str(), mode), 0) << p;
  }
}

void MakeFile(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  WriteFile(path, "content");
  ASSERT_EQ(::chown(path.c_str(), uid, gid), 0) << path;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

TEST_F(posix_permissions, StatThroughViewReportsOriginOwnerModeAndInode) {
  MakeFile(O("f"), 02640, 1234, 5678);
  ASSERT_EQ(::mkdir(O("d").c_str(), 0700), 0);
  ASSERT_EQ(::chown(O("d").c_str(), 42, 43), 0);
  ASSERT_EQ(::chmod(O("d").c_str(), 01710), 0);
  for (const char* rel : {"f", "d"}) {
    const struct stat v = LstatOf(V(rel));
    const struct stat o = LstatOf(O(rel));
    EXPECT_EQ(v.st_mode, o.st_mode) << rel;
    EXPECT_EQ(v.st_uid, o.st_uid) << rel;
    EXPECT_EQ(v.st_gid, o.st_gid) << rel;
    EXPECT_EQ(v.st_ino, o.st_ino) << rel;
    EXPECT_EQ(v.st_nlink, o.st_nlink) << rel;
    EXPECT_EQ(v.st_size, o.st_size) << rel;
    EXPECT_EQ(v.st_blocks, o.st_blocks) << rel;
    EXPECT_EQ(v.st_blksize, o.st_blksize) << rel;
    EXPECT_EQ(v.st_mtim.tv_sec, o.st_mtim.tv_sec) << rel;
    EXPECT_EQ(v.st_mtim.tv_nsec, o.st_mtim.tv_nsec) << rel;
    EXPECT_EQ(v.st_ctim.tv_nsec, o.st_ctim.tv_nsec) << rel;
  }
  EXPECT_EQ(LstatOf(V("f")).st_uid, 1234u);
}

TEST_F(posix_permissions, ChmodThroughViewSetsOriginModeIncludingSpecialBits) {
  WriteFile(V("f"), "x");
  WriteFile(R("f"), "x");
  ASSERT_EQ(::mkdir(V("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(R("d").c_str(), 0755), 0);
  for (const char* rel : {"f", "d"}) {
    for (const mode_t mode : {07777, 04755, 02750, 02700, 01700, 0640, 0}) {
      ASSERT_EQ(::chmod(V(rel).c_str(), mode), 0) << rel << " " << std::oct << mode;
      ASSERT_EQ(::chmod(R(rel).c_str(), mode), 0);
      EXPECT_EQ(LstatOf(O(rel)).st_mode, LstatOf(R(rel)).st_mode) << rel << " " << std::oct
                                                                   << mode;
      EXPECT_EQ(LstatOf(V(rel)).st_mode, LstatOf(O(rel)).st_mode) << rel;
    }
  }
  EXPECT_EQ(LstatOf(O("f")).st_mode & 07777, 0u);
}

TEST_F(posix_permissions, ChownThroughViewSetsOriginOwnerAndDropsSetuidAsOnOrigin) {
  for (const std::string& p : {V("f"), R("f")}) {
    WriteFile(p, "x");
    ASSERT_EQ(::chmod(p.c_str(), 06755), 0);
    ASSERT_EQ(::chown(p.c_str(), 1234, 5678), 0) << p;
  }
  const struct stat o = LstatOf(O("f"));
  EXPECT_EQ(o.st_uid, 1234u);
  EXPECT_EQ(o.st_gid, 5678u);
  EXPECT_EQ(o.st_mode, LstatOf(R("f")).st_mode);  // chown clears setuid/setgid-exec
  EXPECT_EQ(LstatOf(V("f")).st_mode, o.st_mode);

  // lchown changes the symlink, not its target.
  ASSERT_EQ(::symlink("f", V("l").c_str()), 0);
  ASSERT_EQ(::lchown(V("l").c_str(), 99, 98), 0);
  EXPECT_EQ(LstatOf(O("l")).st_uid, 99u);
  EXPECT_EQ(LstatOf(O("l")).st_gid, 98u);
  EXPECT_EQ(LstatOf(O("f")).st_uid, 1234u);
}

TEST_F(posix_permissions, UnprivilegedUserCannotReadRootOnlyFileWithEaccesAsOnOrigin) {
  for (const std::string& p : {O("secret"), R("secret")}) MakeFile(p, 0600);
  for (const std::string& p : {O("public"), R("public")}) MakeFile(p, 0644);
  const auto open_for = [](int flags) {
    return [flags](const std::string& p) { return OpenClose(p, flags); };
  };
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), open_for(O_RDONLY), "secret"), EACCES);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), open_for(O_RDONLY), "public"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), open_for(O_WRONLY), "public"), EACCES);
  EXPECT_EQ(ExpectSameErrnoAs(kRoot, open_for(O_RDWR), "secret"), 0);
}

TEST_F(posix_permissions, AccessAnswersMatchOriginForEveryModeBitAndUser) {
  const mode_t modes[] = {0400, 0200, 0100, 0040, 0020, 0010, 0004, 0002, 0001, 0000, 0755};
  for (const uid_t owner : {0u, 65534u}) {
    for (const mode_t mode : modes) {
      char rel_buffer[32];
      std::snprintf(rel_buffer, sizeof(rel_buffer), "m%u-%04o", owner, mode);
      const std::string rel = rel_buffer;
      for (const std::string& p : {O(rel), R(rel)}) MakeFile(p, mode, owner, owner);
      for (const Identity& who : {kRoot, Nobody()}) {
        for (const int amode : {R_OK, W_OK, X_OK}) {
          SCOPED_TRACE(rel + " uid " + std::to_string(who.uid) + " amode " +
                       std::to_string(amode));
          ExpectSameErrnoAs(who, [amode](const std::string& p) {
            return ::access(p.c_str(), amode);
          }, rel);
        }
      }
    }
  }
  // The comparison is not vacuous: some answers are refusals.
  EXPECT_EQ(ErrnoAs(Nobody(), [&] { return ::access(V("m0-0400").c_str(), R_OK); }), EACCES);
  EXPECT_EQ(ErrnoAs(kRoot, [&] { return ::access(V("m0-0400").c_str(), X_OK); }), EACCES);
  EXPECT_EQ(ErrnoAs(kRoot, [&] { return ::access(V("m0-0755").c_str(), X_OK); }), 0);
}

TEST_F(posix_permissions, FileCreatedByUserThroughViewIsOwnedByThatUserOnOrigin) {
  MakeSharedDir(O("shared"), R("shared"), 0777);
  const Identity nobody = Nobody();
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0640);
            }, "shared/file"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::mkdir(p.c_str(), 0750);
            }, "shared/dir"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::symlink("file", p.c_str());
            }, "shared/link"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::mkfifo(p.c_str(), 0604);
            }, "shared/fifo"), 0);
  for (const char* rel : {"shared/file", "shared/dir", "shared/link", "shared/fifo"}) {
    const struct stat o = LstatOf(O(rel));
    EXPECT_EQ(o.st_uid, 65534u) << rel;
    EXPECT_EQ(o.st_gid, 65534u) << rel;
    EXPECT_EQ(o.st_mode, LstatOf(R(rel)).st_mode) << rel;
    EXPECT_EQ(LstatOf(V(rel)).st_uid, 65534u) << rel;
  }
}

TEST_F(posix_permissions, NonOwnerChmodAndChownFailWithEpermAsOnOrigin) {
  MakeSharedDir(O("shared"), R("shared"), 0777);
  for (const std::string& p : {O("shared/roots"), R("shared/roots")}) MakeFile(p, 0666);
  const Identity nobody = Nobody();
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::chmod(p.c_str(), 0777);
            }, "shared/roots"), EPERM);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::chown(p.c_str(), 65534, static_cast<gid_t>(-1));
            }, "shared/roots"), EPERM);
  EXPECT_EQ(LstatOf(O("shared/roots")).st_mode & 07777, 0666u);

  ASSERT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0644);
            }, "shared/mine"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::chown(p.c_str(), 0, static_cast<gid_t>(-1));
            }, "shared/mine"), EPERM);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::chown(p.c_str(), static_cast<uid_t>(-1), 100);  // not a member
            }, "shared/mine"), EPERM);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::chmod(p.c_str(), 0604);
            }, "shared/mine"), 0);
  EXPECT_EQ(LstatOf(O("shared/mine")).st_mode & 07777, 0604u);
  const Identity member{65534, 65534, {100}};
  EXPECT_EQ(ExpectSameErrnoAs(member, [](const std::string& p) {
              return ::chown(p.c_str(), static_cast<uid_t>(-1), 100);
            }, "shared/mine"), 0);
  EXPECT_EQ(LstatOf(O("shared/mine")).st_gid, 100u);
  EXPECT_EQ(LstatOf(O("shared/mine")).st_mode, LstatOf(R("shared/mine")).st_mode);
}

TEST_F(posix_permissions, SetgidDirectoryGivesItsGroupToNewEntriesAsOnOrigin) {
  MakeSharedDir(O("team"), R("team"), 02777, 0, 100);
  const Identity nobody = Nobody();
  ASSERT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 02755);
            }, "team/by-nobody"), 0);
  ASSERT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::mkdir(p.c_str(), 0755);
            }, "team/dir-by-nobody"), 0);
  ASSERT_EQ(ExpectSameErrnoAs(kRoot, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 02755);
            }, "team/by-root"), 0);
  for (const char* rel : {"team/by-nobody", "team/dir-by-nobody", "team/by-root"}) {
    const struct stat o = LstatOf(O(rel));
    EXPECT_EQ(o.st_gid, 100u) << rel;
    EXPECT_EQ(o.st_mode, LstatOf(R(rel)).st_mode) << rel;
  }
  EXPECT_TRUE(LstatOf(O("team/dir-by-nobody")).st_mode & S_ISGID);
  // nobody is not in group 100: the setgid bit it asked for is dropped.
  EXPECT_FALSE(LstatOf(O("team/by-nobody")).st_mode & S_ISGID);
  EXPECT_TRUE(LstatOf(O("team/by-root")).st_mode & S_ISGID);
}

TEST_F(posix_permissions, SupplementaryGroupsOfTheCallerApplyOnOrigin) {
  MakeSharedDir(O("group-only"), R("group-only"), 0070, 0, 100);
  const Identity member{65534, 65534, {100}};
  EXPECT_EQ(ExpectSameErrnoAs(member, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0600);
            }, "group-only/file"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0600);
            }, "group-only/other"), EACCES);
  const struct stat o = LstatOf(O("group-only/file"));
  EXPECT_EQ(o.st_uid, 65534u);
  EXPECT_EQ(o.st_gid, 65534u);
}

TEST_F(posix_permissions, RootCallerWithAnotherGroupCreatesEntriesOwnedByThatGroup) {
  const Identity root_in_group{0, 1234, {}};
  ASSERT_EQ(ExpectSameErrnoAs(root_in_group, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0644);
            }, "file"), 0);
  ASSERT_EQ(ExpectSameErrnoAs(root_in_group, [](const std::string& p) {
              return ::mkdir(p.c_str(), 0755);
            }, "dir"), 0);
  for (const char* rel : {"file", "dir"}) {
    EXPECT_EQ(LstatOf(R(rel)).st_gid, 1234u) << rel;
    EXPECT_EQ(LstatOf(O(rel)).st_gid, 1234u) << rel;
    EXPECT_EQ(LstatOf(O(rel)).st_uid, 0u) << rel;
  }
}

TEST_F(posix_permissions, WriteByAnotherUserClearsSetuidAndSetgidAsOnOrigin) {
  for (const std::string& p : {O("suid"), R("suid")}) MakeFile(p, 04777);
  for (const std::string& p : {O("sgid"), R("sgid")}) MakeFile(p, 02777);
  for (const char* rel : {"suid", "sgid"}) {
    EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
                const int fd = ::open(p.c_str(), O_WRONLY);
                if (fd < 0) return -1L;
                const long n = ::write(fd, "w", 1);
                ::close(fd);
                return n;
              }, rel), 0);
    EXPECT_EQ(LstatOf(O(rel)).st_mode, LstatOf(R(rel)).st_mode) << rel;
    EXPECT_EQ(LstatOf(O(rel)).st_mode & 07777, 0777u) << rel;
    EXPECT_EQ(LstatOf(V(rel)).st_mode, LstatOf(O(rel)).st_mode) << rel;
  }
}

TEST_F(posix_permissions, StickyDirectoryProtectsOtherUsersEntriesAsOnOrigin) {
  MakeSharedDir(O("tmp"), R("tmp"), 01777);
  for (const std::string& p : {O("tmp/roots"), R("tmp/roots")}) MakeFile(p, 0666);
  const Identity nobody = Nobody();
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::unlink(p.c_str());
            }, "tmp/roots"), EPERM);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::rename(p.c_str(), (p + "-moved").c_str());
            }, "tmp/roots"), EPERM);
  ASSERT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0644);
            }, "tmp/mine"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(nobody, [](const std::string& p) {
              return ::unlink(p.c_str());
            }, "tmp/mine"), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("tmp/roots").c_str(), F_OK); }), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("tmp/mine").c_str(), F_OK); }), ENOENT);
}

// setfacl(1) on `path`; records a failure when it does not succeed.
void Setfacl(const std::vector<std::string>& args, const std::string& path) {
  std::vector<std::string> argv = {"setfacl"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(path);
  const CommandResult result = RunCommand(argv);
  EXPECT_EQ(result.exit_code, 0) << path << ": " << result.err;
}

std::string Getfacl(const std::string& path) {
  const CommandResult result = RunCommand({"getfacl", "--omit-header", "--numeric", path});
  EXPECT_EQ(result.exit_code, 0) << path << ": " << result.err;
  return result.out;
}

TEST_F(posix_permissions, AccessAclEntriesGrantAndDenyAsOnOrigin) {
  for (const std::string& p : {O("granted"), R("granted")}) {
    MakeFile(p, 0600);
    Setfacl({"-m", "u:65534:r"}, p);
  }
  for (const std::string& p : {O("denied"), R("denied")}) {
    MakeFile(p, 0644);
    Setfacl({"-m", "u:65534:-"}, p);
  }
  const auto read_open = [](const std::string& p) { return OpenClose(p, O_RDONLY); };
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), read_open, "granted"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), read_open, "denied"), EACCES);
  const Identity other{4321, 4321, {}};
  EXPECT_EQ(ExpectSameErrnoAs(other, read_open, "granted"), EACCES);
  EXPECT_EQ(ExpectSameErrnoAs(other, read_open, "denied"), 0);
}

TEST_F(posix_permissions, SetfaclThroughViewSetsOriginAclAndMode) {
  WriteFile(V("f"), "x");
  WriteFile(R("f"), "x");
  for (const std::string& p : {V("f"), R("f")}) Setfacl({"-m", "u:65534:rw,g::r"}, p);
  EXPECT_EQ(Getfacl(O("f")), Getfacl(R("f")));
  EXPECT_EQ(Getfacl(V("f")), Getfacl(O("f")));
  EXPECT_EQ(LstatOf(O("f")).st_mode, LstatOf(R("f")).st_mode);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return OpenClose(p, O_WRONLY);
            }, "f"), 0);
  // chmod through the view narrows the ACL mask on origin as on the reference.
  for (const std::string& p : {V("f"), R("f")}) ASSERT_EQ(::chmod(p.c_str(), 0604), 0);
  EXPECT_EQ(Getfacl(O("f")), Getfacl(R("f")));
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return OpenClose(p, O_WRONLY);
            }, "f"), EACCES);
}

TEST_F(posix_permissions, DefaultAclOfTheParentReplacesTheUmaskAsOnOrigin) {
  for (const std::string& base : {mount_.origin(), reference_}) {
    ASSERT_EQ(::mkdir((base + "/inherit").c_str(), 0777), 0);
    Setfacl({"-d", "-m", "u::rwx,g::rwx,o::rwx,u:65534:rx"}, base + "/inherit");
    ASSERT_EQ(::mkdir((base + "/plain").c_str(), 0777), 0);
  }
  const mode_t old = ::umask(077);
  for (const std::string& base : {mount_.view(), reference_}) {
    for (const char* dir : {"/inherit", "/plain"}) {
      EXPECT_EQ(OpenClose(base + dir + "/file", O_CREAT | O_WRONLY, 0666), 0);
      EXPECT_EQ(::mkdir((base + dir + "/sub").c_str(), 0777), 0);
      EXPECT_EQ(::mkfifo((base + dir + "/fifo").c_str(), 0666), 0);
    }
  }
  ::umask(old);
  for (const char* rel : {"inherit/file", "inherit/sub", "inherit/fifo", "plain/file",
                          "plain/sub", "plain/fifo"}) {
    EXPECT_EQ(LstatOf(O(rel)).st_mode, LstatOf(R(rel)).st_mode) << rel;
    EXPECT_EQ(Getfacl(O(rel)), Getfacl(R(rel))) << rel;
  }
  EXPECT_EQ(LstatOf(O("plain/file")).st_mode & 07777, 0600u);
  EXPECT_NE(LstatOf(O("inherit/file")).st_mode & 07777, 0600u);
}

// Whether a directory has a default ACL is kept between creations in it; a
// default ACL set or removed through the view applies to the very next one.
TEST_F(posix_permissions, ADefaultAclSetOrRemovedThroughTheViewAppliesToTheNextCreation) {
  const std::string dir = mount_.view() + "/acl";
  ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
  const mode_t old = ::umask(077);
  EXPECT_EQ(OpenClose(dir + "/before", O_CREAT | O_WRONLY, 0666), 0);
  Setfacl({"-d", "-m", "u::rwx,g::rwx,o::rwx"}, dir);
  EXPECT_EQ(OpenClose(dir + "/with", O_CREAT | O_WRONLY, 0666), 0);
  Setfacl({"-k"}, dir);
  EXPECT_EQ(OpenClose(dir + "/after", O_CREAT | O_WRONLY, 0666), 0);
  ::umask(old);
  EXPECT_EQ(LstatOf(O("acl/before")).st_mode & 07777, 0600u);
  EXPECT_EQ(LstatOf(O("acl/with")).st_mode & 07777, 0666u) << "the default ACL was not seen";
  EXPECT_EQ(LstatOf(O("acl/after")).st_mode & 07777, 0600u) << "the removed ACL was still applied";
}

// Mode bits as a caller asking for nothing else sees them (statx with
// STATX_MODE, as `stat -c %a` asks): the kernel answers from the attributes it
// keeps unless it knows them stale.
mode_t ModeOnly(const std::string& path) {
  struct statx stx {};
  EXPECT_EQ(::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MODE, &stx), 0) << path;
  return stx.stx_mode & 07777;
}

// The kernel keeps a file's attributes for the attribute timeout, and the
// reply to a write or a fallocate carries none; after one, it marks only
// size and times stale. When such a change clears privilege bits, the daemon
// has the kernel drop its attributes, so that a caller asking for the mode
// right after sees the bits gone, as on origin.
TEST_F(posix_permissions, ModeRightAfterADataChangeThatClearedPrivilegeBitsShowsThemGone) {
  const std::vector<std::pair<std::string, std::function<long(int)>>> changes = {
      {"write", [](int fd) { return static_cast<long>(::pwrite(fd, "w", 1, 0)); }},
      {"fallocate", [](int fd) { return static_cast<long>(::fallocate(fd, 0, 0, 64 << 10)); }},
      {"punch", [](int fd) {
         return static_cast<long>(
             ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
       }},
      {"zero", [](int fd) {
         return static_cast<long>(::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096));
       }},
  };
  for (const auto& [name, change] : changes) {
    MakeFile(O(name), 06666);
    ASSERT_EQ(ModeOnly(V(name)), 06666u) << name;  // now kept by the kernel
    const std::string path = V(name);
    const std::function<long(int)>& call = change;
    ASSERT_EQ(ErrnoAs(Nobody(), [&] { return ChangeOpenFile(path, O_WRONLY, call); }), 0)
        << name;
    EXPECT_EQ(LstatOf(O(name)).st_mode & 07777, 0666u) << name;
    EXPECT_EQ(ModeOnly(V(name)), 0666u)
        << name << ": the view still shows the bits origin no longer has";
  }
}

TEST_F(posix_permissions, FallocateByAnotherUserClearsSetuidAndSetgidAsOnOrigin) {
  ExpectTheCoreCases(ExpectPrivilegeBitsAfterFallocateAsOnOrigin(kPrivilegeCases, 0, 0, 64 << 10));
}

TEST_F(posix_permissions, PunchHoleByAnotherUserClearsSetuidAndSetgidAsOnOrigin) {
  ExpectTheCoreCases(ExpectPrivilegeBitsAfterFallocateAsOnOrigin(
      kPrivilegeCases, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
}

TEST_F(posix_permissions, ZeroRangeByAnotherUserClearsSetuidAndSetgidAsOnOrigin) {
  ExpectTheCoreCases(
      ExpectPrivilegeBitsAfterFallocateAsOnOrigin(kPrivilegeCases, FALLOC_FL_ZERO_RANGE, 0, 4096));
}

// The kernel's FUSE client clears setuid and group-executable setgid before
// these changes but keeps the setgid of a file that is not group-executable
// whatever the caller's groups (and clears nothing for an O_TRUNC open): the
// view applies the origin's rule itself.
TEST_F(posix_permissions, WriteClearsSetuidAndSetgidForEveryCallerAsOnOrigin) {
  const auto write = [](int fd) { return static_cast<long>(::pwrite(fd, "w", 1, 2)); };
  ExpectTheCoreCases(
      ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(kPrivilegeCases, O_WRONLY, write));
}

TEST_F(posix_permissions, FtruncateClearsSetuidAndSetgidForEveryCallerAsOnOrigin) {
  const auto truncate = [](int fd) { return static_cast<long>(::ftruncate(fd, 3)); };
  ExpectTheCoreCases(
      ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(kPrivilegeCases, O_WRONLY, truncate));
}

TEST_F(posix_permissions, OpenWithTruncClearsSetuidAndSetgidForEveryCallerAsOnOrigin) {
  const auto nothing_more = [](int) { return 0L; };
  ExpectTheCoreCases(ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(
      kPrivilegeCases, O_WRONLY | O_TRUNC, nothing_more));
}

TEST_F(posix_permissions, CopyFileRangeClearsSetuidAndSetgidForEveryCallerAsOnOrigin) {
  const auto copy_within = [](int fd) {
    loff_t in = 0;
    loff_t out = 4;
    return static_cast<long>(::copy_file_range(fd, &in, fd, &out, 2, 0));
  };
  ExpectTheCoreCases(
      ExpectPrivilegeBitsAfterDataChangeAsOnOrigin(kPrivilegeCases, O_RDWR, copy_within));
}

// Dropping the bits is the view's own change of origin (DESIGN W6): the file
// keeps every cached block.
TEST_F(posix_permissions, PrivilegeBitsDroppedForAnotherUserKeepTheCache) {
  const std::string content = Pattern(256 << 10, 7);
  WriteFile(O("cached"), content);
  ASSERT_EQ(::chmod(O("cached").c_str(), 02666), 0);
  ASSERT_TRUE(ReadFileDirect(V("cached")) == content);  // every block cached
  const uint64_t invalidations = StatusCounter(mount_.view(), "invalidations");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a ctime of its own
  // Past the end with KEEP_SIZE: no cached byte changes, only the mode.
  ASSERT_EQ(ErrnoAs(Nobody(),
                    [&] {
                      const int fd = ::open(V("cached").c_str(), O_WRONLY);
                      if (fd < 0) return -1L;
                      const long result = ::fallocate(fd, FALLOC_FL_KEEP_SIZE,
                                                      static_cast<off_t>(content.size()), 4096);
                      ::close(fd);
                      return result;
                    }),
            0);
  EXPECT_EQ(LstatOf(O("cached")).st_mode & 07777, 0666u);
  const uint64_t misses = StatusCounter(mount_.view(), "read_misses");
  EXPECT_TRUE(ReadFileDirect(V("cached")) == content);
  EXPECT_EQ(StatusCounter(mount_.view(), "read_misses"), misses) << "the chmod dropped the cache";
  EXPECT_EQ(StatusCounter(mount_.view(), "invalidations"), invalidations);
}

TEST_F(posix_permissions, TruncateByAnotherUserClearsSetuidAsOnOrigin) {
  for (const std::string& p : {O("suid"), R("suid")}) MakeFile(p, 04777);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::truncate(p.c_str(), 2);
            }, "suid"), 0);
  EXPECT_EQ(LstatOf(O("suid")).st_mode, LstatOf(R("suid")).st_mode);
  EXPECT_EQ(LstatOf(O("suid")).st_size, 2);
}

}  // namespace
}  // namespace wtcachefs::testing
