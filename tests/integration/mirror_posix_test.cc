// VIEW behaves as ORIGIN does: each test performs an operation through VIEW and
// the same operation on a reference directory on the same filesystem, and
// compares results and errno values, then checks that origin holds the result.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

// The errno of `op` (0 on success).
int ErrnoOf(const std::function<int()>& op) {
  errno = 0;
  return op() < 0 ? errno : 0;
}

// Runs `op` in a child with the identity of user 65534 (nobody) and returns its
// errno (0 on success).
int ErrnoAsNobody(const std::function<int()>& op) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(250);
    }
    ::_exit(ErrnoOf(op));
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 251;
}

class MirrorPosixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mount_.ok()) << mount_.failure();
    ::chmod(mount_.dir().path().c_str(), 0755);  // let user nobody reach the view
  }
  std::string V(const std::string& rel) { return mount_.ViewPath(rel); }
  std::string O(const std::string& rel) { return mount_.OriginPath(rel); }
  std::string R(const std::string& rel) { return reference_ + "/" + rel; }

  // Runs `op` on the view path and on the reference path; both errnos must match.
  void ExpectSameErrno(const std::function<int(const std::string&)>& op,
                       const std::string& rel) {
    const int view_errno = ErrnoOf([&] { return op(V(rel)); });
    const int reference_errno = ErrnoOf([&] { return op(R(rel)); });
    EXPECT_EQ(view_errno, reference_errno)
        << rel << ": view " << std::strerror(view_errno) << ", reference "
        << std::strerror(reference_errno);
  }

  MountedView mount_{{"-o", "allow_other"}};
  std::string reference_ = mount_.dir().Sub("reference");
};

TEST_F(MirrorPosixTest, CreateWithModeHonoursUmaskAndOwnership) {
  const mode_t old = ::umask(027);
  const int fd = ::open(V("f").c_str(), O_CREAT | O_WRONLY, 0777);
  ::umask(old);
  ASSERT_GE(fd, 0);
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::stat(O("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(MirrorPosixTest, UnprivilegedUserCannotReadWhatOriginForbids) {
  WriteFile(O("secret"), "root only");
  ASSERT_EQ(::chmod(O("secret").c_str(), 0600), 0);
  EXPECT_EQ(ErrnoAsNobody([&] { return ::open(V("secret").c_str(), O_RDONLY); }), EACCES);
  WriteFile(O("public"), "anyone");
  ASSERT_EQ(::chmod(O("public").c_str(), 0644), 0);
  EXPECT_EQ(ErrnoAsNobody([&] { return ::open(V("public").c_str(), O_RDONLY); }), 0);
  EXPECT_EQ(ErrnoAsNobody([&] { return ::open(V("public").c_str(), O_WRONLY); }), EACCES);
}

TEST_F(MirrorPosixTest, FilesCreatedByAUserAreOwnedByThatUserOnOrigin) {
  ASSERT_EQ(::mkdir(O("shared").c_str(), 0777), 0);
  ASSERT_EQ(::chmod(O("shared").c_str(), 0777), 0);
  ASSERT_EQ(ErrnoAsNobody([&] {
              const int fd = ::open(V("shared/mine").c_str(), O_CREAT | O_WRONLY, 0640);
              return fd < 0 ? -1 : ::close(fd);
            }),
            0);
  ASSERT_EQ(ErrnoAsNobody([&] { return ::mkdir(V("shared/dir").c_str(), 0700); }), 0);
  ASSERT_EQ(ErrnoAsNobody([&] { return ::symlink("mine", V("shared/link").c_str()); }), 0);
  for (const char* name : {"shared/mine", "shared/dir", "shared/link"}) {
    struct stat st;
    ASSERT_EQ(::lstat(O(name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_uid, 65534u) << name;
    EXPECT_EQ(st.st_gid, 65534u) << name;
  }
  // Someone else's file in a sticky directory cannot be removed by nobody.
  ASSERT_EQ(::chmod(O("shared").c_str(), 01777), 0);
  WriteFile(O("shared/roots"), "x");
  EXPECT_EQ(ErrnoAsNobody([&] { return ::unlink(V("shared/roots").c_str()); }), EPERM);
}

TEST_F(MirrorPosixTest, SetgidDirectoryGivesItsGroupToNewEntries) {
  ASSERT_EQ(::mkdir(O("team").c_str(), 0775), 0);
  ASSERT_EQ(::chown(O("team").c_str(), 0, 100), 0);
  ASSERT_EQ(::chmod(O("team").c_str(), 02775), 0);
  WriteFile(V("team/file"), "x");
  ASSERT_EQ(::mkdir(V("team/sub").c_str(), 0755), 0);
  struct stat st;
  ASSERT_EQ(::stat(O("team/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 100u);
  ASSERT_EQ(::stat(O("team/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 100u);
  EXPECT_TRUE(st.st_mode & S_ISGID);
}

TEST_F(MirrorPosixTest, ChmodAndChownReachOrigin) {
  WriteFile(V("f"), "x");
  ASSERT_EQ(::chmod(V("f").c_str(), 04710), 0);
  ASSERT_EQ(::chown(V("f").c_str(), 1234, 5678), 0);
  struct stat st;
  ASSERT_EQ(::stat(O("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::chmod(V("f").c_str(), 0710), 0);
  ASSERT_EQ(::stat(O("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
}

TEST_F(MirrorPosixTest, HardLinksShareOneInode) {
  WriteFile(V("a"), "shared");
  ASSERT_EQ(::link(V("a").c_str(), V("b").c_str()), 0);
  struct stat a, b, origin;
  ASSERT_EQ(::stat(V("a").c_str(), &a), 0);
  ASSERT_EQ(::stat(V("b").c_str(), &b), 0);
  ASSERT_EQ(::stat(O("b").c_str(), &origin), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(origin.st_nlink, 2u);
  WriteFile(V("b"), "changed");
  EXPECT_EQ(ReadFile(V("a")), "changed");
  ExpectSameErrno([](const std::string& p) { return ::link(p.c_str(), p.c_str()); }, "none");
}

TEST_F(MirrorPosixTest, SymlinksAreStoredAndReadBackVerbatim) {
  ASSERT_EQ(::symlink("../outside/\xff-target", V("link").c_str()), 0);
  char target[256] = {};
  ASSERT_GT(::readlink(V("link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "../outside/\xff-target");
  char origin_target[256] = {};
  ASSERT_GT(::readlink(O("link").c_str(), origin_target, sizeof(origin_target)), 0);
  EXPECT_STREQ(origin_target, target);
  struct stat st;
  ASSERT_EQ(::lstat(V("link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(ErrnoOf([&] { return ::stat(V("link").c_str(), &st); }), ENOENT);  // dangling
}

TEST_F(MirrorPosixTest, SpecialFilesAreCreatedOnOrigin) {
  ASSERT_EQ(::mkfifo(V("fifo").c_str(), 0640), 0);
  ASSERT_EQ(::mknod(V("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  struct stat st;
  ASSERT_EQ(::stat(O("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::stat(O("null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(MirrorPosixTest, UnlinkedOpenFileStaysReadable) {
  WriteFile(V("f"), "still here");
  const int fd = ::open(V("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(V("f").c_str()), 0);
  char buffer[32] = {};
  EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 0), 10);
  EXPECT_STREQ(buffer, "still here");
  ::close(fd);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("f").c_str(), F_OK); }), ENOENT);
}

TEST_F(MirrorPosixTest, ExtendedAttributesBehaveAsOnOrigin) {
  WriteFile(V("f"), "x");
  WriteFile(R("f"), "x");
  for (const std::string& p : {V("f"), R("f")}) {
    ASSERT_EQ(::setxattr(p.c_str(), "user.a", "1", 1, XATTR_CREATE), 0);
    ASSERT_EQ(::setxattr(p.c_str(), "user.bb", "22", 2, 0), 0);
  }
  ExpectSameErrno([](const std::string& p) {
    return ::setxattr(p.c_str(), "user.a", "1", 1, XATTR_CREATE);
  }, "f");
  ExpectSameErrno([](const std::string& p) {
    return ::setxattr(p.c_str(), "user.zz", "1", 1, XATTR_REPLACE);
  }, "f");
  ExpectSameErrno([](const std::string& p) {
    char v[4];
    return static_cast<int>(::getxattr(p.c_str(), "user.missing", v, sizeof(v)));
  }, "f");
  ExpectSameErrno([](const std::string& p) {
    char v[1];
    return static_cast<int>(::getxattr(p.c_str(), "user.bb", v, sizeof(v)));  // ERANGE
  }, "f");
  EXPECT_EQ(::getxattr(V("f").c_str(), "user.bb", nullptr, 0), 2);
  char list[64] = {};
  const ssize_t n = ::listxattr(V("f").c_str(), list, sizeof(list));
  EXPECT_EQ(std::string(list, static_cast<size_t>(n)), std::string("user.a\0user.bb\0", 15));
  ASSERT_EQ(::removexattr(V("f").c_str(), "user.a"), 0);
  EXPECT_EQ(ErrnoOf([&] { return static_cast<int>(::getxattr(O("f").c_str(), "user.a", nullptr, 0)); }),
            ENODATA);
  char value[4] = {};
  EXPECT_EQ(::getxattr(O("f").c_str(), "user.bb", value, sizeof(value)), 2);
}

TEST_F(MirrorPosixTest, RenameFlagsAndErrorsMatchOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    WriteFile(base + "/a", "A");
    WriteFile(base + "/b", "B");
    ::mkdir((base + "/d").c_str(), 0755);
    WriteFile(base + "/d/x", "X");
    ::mkdir((base + "/e").c_str(), 0755);
  }
  ExpectSameErrno([](const std::string& p) {
    return ::renameat2(AT_FDCWD, (p + "/a").c_str(), AT_FDCWD, (p + "/b").c_str(), RENAME_NOREPLACE);
  }, "");
  ExpectSameErrno([](const std::string& p) {
    return ::rename((p + "/e").c_str(), (p + "/d").c_str());  // ENOTEMPTY
  }, "");
  ExpectSameErrno([](const std::string& p) {
    return ::rename((p + "/a").c_str(), (p + "/e").c_str());  // EISDIR
  }, "");
  ExpectSameErrno([](const std::string& p) {
    return ::rename((p + "/d").c_str(), (p + "/d/x/y").c_str());  // ENOTDIR
  }, "");
  ASSERT_EQ(::renameat2(AT_FDCWD, V("a").c_str(), AT_FDCWD, V("b").c_str(), RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(O("a")), "B");
  EXPECT_EQ(ReadFile(O("b")), "A");
  ASSERT_EQ(::rename(V("a").c_str(), V("b").c_str()), 0);
  EXPECT_EQ(ReadFile(O("b")), "B");
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("a").c_str(), F_OK); }), ENOENT);
}

TEST_F(MirrorPosixTest, AppendTruncAndExclusiveCreateBehaveAsOnOrigin) {
  const int a = ::open(V("log").c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
  const int b = ::open(V("log").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_EQ(::write(a, "one ", 4), 4);
  ASSERT_EQ(::write(b, "two ", 4), 4);
  ASSERT_EQ(::pwrite(a, "three", 5, 0), 5);  // O_APPEND: the offset is ignored
  ::close(a);
  ::close(b);
  EXPECT_EQ(ReadFile(O("log")), "one two three");
  const int t = ::open(V("log").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(t, 0);
  ::close(t);
  EXPECT_EQ(ReadFile(O("log")), "");
  WriteFile(R("log"), "");
  ExpectSameErrno([](const std::string& p) {
    return ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  }, "log");
  ExpectSameErrno([](const std::string& p) { return ::open(p.c_str(), O_RDONLY); }, "nope");
  ExpectSameErrno([](const std::string& p) { return ::open((p + "/x").c_str(), O_RDONLY); }, "log");
}

TEST_F(MirrorPosixTest, SparseFilesReportTheSameDataAndHoles) {
  const int fd = ::open(V("sparse").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "data", 4, 1 << 20), 4);
  ASSERT_EQ(::pwrite(fd, "more", 4, 8 << 20), 4);
  const int ofd = ::open(O("sparse").c_str(), O_RDONLY);
  ASSERT_GE(ofd, 0);
  for (off_t from : {off_t{0}, off_t{4096}, off_t{(1 << 20) + 100}, off_t{2 << 20}}) {
    EXPECT_EQ(::lseek(fd, from, SEEK_DATA), ::lseek(ofd, from, SEEK_DATA)) << from;
    EXPECT_EQ(::lseek(fd, from, SEEK_HOLE), ::lseek(ofd, from, SEEK_HOLE)) << from;
  }
  errno = 0;
  EXPECT_EQ(::lseek(fd, (8 << 20) + 100, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  struct stat v, o;
  ASSERT_EQ(::fstat(fd, &v), 0);
  ASSERT_EQ(::fstat(ofd, &o), 0);
  EXPECT_EQ(v.st_size, o.st_size);
  EXPECT_EQ(v.st_blocks, o.st_blocks);
  ::close(fd);
  ::close(ofd);
}

TEST_F(MirrorPosixTest, FallocateModesApplyToOrigin) {
  WriteFile(V("f"), std::string(64 * 1024, 'x'));
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192), 0);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 64 * 1024, 1 << 20), 0);
  ASSERT_EQ(::fallocate(fd, 0, 64 * 1024, 4096), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 68 * 1024);
  std::string expected = std::string(64 * 1024, 'x') + std::string(4096, '\0');
  std::fill(expected.begin() + 4096, expected.begin() + 4096 + 8192, '\0');
  EXPECT_EQ(ReadFile(V("f")), expected);
  EXPECT_EQ(ReadFile(O("f")), expected);
  const int zero = ::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100);
  if (zero == 0) {
    expected.replace(0, 100, std::string(100, '\0'));
    EXPECT_EQ(ReadFile(O("f")), expected);
  } else {
    EXPECT_EQ(errno, EOPNOTSUPP);  // as the origin filesystem says
  }
  ::close(fd);
}

TEST_F(MirrorPosixTest, TruncateGrowsAndShrinks) {
  WriteFile(V("f"), "0123456789");
  ASSERT_EQ(::truncate(V("f").c_str(), 4), 0);
  EXPECT_EQ(ReadFile(O("f")), "0123");
  ASSERT_EQ(::truncate(V("f").c_str(), 8), 0);
  EXPECT_EQ(ReadFile(V("f")), std::string("0123\0\0\0\0", 8));
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_EQ(::ftruncate(fd, 2), 0);
  ::close(fd);
  EXPECT_EQ(ReadFile(O("f")), "01");
  WriteFile(R("f"), "01");
  ExpectSameErrno([](const std::string& p) { return ::truncate(p.c_str(), -1); }, "f");
}

TEST_F(MirrorPosixTest, TimesAreSetWithNanosecondsOnFilesAndSymlinks) {
  WriteFile(V("f"), "x");
  ASSERT_EQ(::symlink("f", V("l").c_str()), 0);
  const struct timespec times[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, V("l").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  for (const std::string& p : {O("f"), O("l")}) {
    struct stat st;
    ASSERT_EQ(::lstat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
  }
  const struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), omit_now, 0), 0);
  struct stat st;
  ASSERT_EQ(::stat(O("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
  EXPECT_GT(st.st_mtim.tv_sec, 1500000000);
}

TEST_F(MirrorPosixTest, StatfsDescribesTheOriginFilesystem) {
  struct statvfs v, o;
  ASSERT_EQ(::statvfs(mount_.view().c_str(), &v), 0);
  ASSERT_EQ(::statvfs(mount_.origin().c_str(), &o), 0);
  EXPECT_EQ(v.f_bsize, o.f_bsize);
  EXPECT_EQ(v.f_blocks, o.f_blocks);
  EXPECT_EQ(v.f_files, o.f_files);
  EXPECT_EQ(v.f_namemax, o.f_namemax);
}

TEST_F(MirrorPosixTest, RecordLocksConflictBetweenProcesses) {
  WriteFile(V("f"), "0123456789");
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 2;
  lock.l_len = 3;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &lock), 0);
  const pid_t holder = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    const int cfd = ::open(V("f").c_str(), O_RDWR);
    struct flock want {};
    want.l_type = F_WRLCK;
    want.l_whence = SEEK_SET;
    want.l_start = 3;
    want.l_len = 1;
    if (::fcntl(cfd, F_SETLK, &want) == 0) ::_exit(1);
    if (errno != EAGAIN && errno != EACCES) ::_exit(2);
    if (::fcntl(cfd, F_GETLK, &want) != 0 || want.l_type != F_WRLCK || want.l_pid != holder) {
      ::_exit(3);
    }
    want.l_start = 6;  // outside the held range
    want.l_type = F_WRLCK;
    ::_exit(::fcntl(cfd, F_SETLK, &want) == 0 ? 0 : 4);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::close(fd);
}

TEST_F(MirrorPosixTest, FlockConflictsBetweenOpenFiles) {
  WriteFile(V("f"), "x");
  const int a = ::open(V("f").c_str(), O_RDONLY);
  const int b = ::open(V("f").c_str(), O_RDONLY);
  ASSERT_EQ(::flock(a, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::flock(b, LOCK_EX | LOCK_NB); }), EWOULDBLOCK);
  ASSERT_EQ(::flock(a, LOCK_UN), 0);
  EXPECT_EQ(::flock(b, LOCK_SH | LOCK_NB), 0);
  ::close(a);
  ::close(b);
}

TEST_F(MirrorPosixTest, FilesLargerThanFourGibibytes) {
  const off_t far = (off_t{5} << 30) + 123;
  const int fd = ::open(V("big").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "tail", 4, far), 4);
  char back[4];
  ASSERT_EQ(::pread(fd, back, 4, far), 4);
  EXPECT_EQ(std::string(back, 4), "tail");
  struct stat st;
  ASSERT_EQ(::stat(O("big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + 4);
  ::close(fd);
}

TEST_F(MirrorPosixTest, LongAndNonUtf8NamesRoundTrip) {
  const std::string longest(255, 'n');
  WriteFile(V(longest), "x");
  EXPECT_EQ(ReadFile(O(longest)), "x");
  ExpectSameErrno([&](const std::string& p) {
    return ::open((p + "/" + std::string(256, 'n')).c_str(), O_CREAT | O_WRONLY, 0644);
  }, "");
  const std::string odd = "\x80\xfe\xff latin1 \xe9t\xe9";
  WriteFile(V(odd), "y");
  EXPECT_EQ(ReadFile(O(odd)), "y");
  DIR* dir = ::opendir(mount_.view().c_str());
  ASSERT_NE(dir, nullptr);
  bool found = false;
  while (const dirent* e = ::readdir(dir)) found |= odd == e->d_name;
  ::closedir(dir);
  EXPECT_TRUE(found);
}

TEST_F(MirrorPosixTest, CopyFileRangeWritesThroughToOrigin) {
  WriteFile(V("src"), "abcdefghij");
  const int in = ::open(V("src").c_str(), O_RDONLY);
  const int out = ::open(V("dst").c_str(), O_CREAT | O_WRONLY, 0644);
  loff_t in_off = 2, out_off = 0;
  ASSERT_EQ(::copy_file_range(in, &in_off, out, &out_off, 5, 0), 5);
  ::close(in);
  ::close(out);
  EXPECT_EQ(ReadFile(O("dst")), "cdefg");
}

TEST_F(MirrorPosixTest, SharedMmapWritesReachOrigin) {
  WriteFile(V("m"), std::string(8192, '-'));
  const int fd = ::open(V("m").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  std::memcpy(static_cast<char*>(map) + 4096, "mapped", 6);
  ASSERT_EQ(::msync(map, 8192, MS_SYNC), 0);
  ::munmap(map, 8192);
  ::close(fd);
  EXPECT_EQ(ReadFile(O("m")).substr(4096, 6), "mapped");
}

TEST_F(MirrorPosixTest, DotDotAtTheRootStaysInsideTheView) {
  struct stat root, parent;
  ASSERT_EQ(::stat(mount_.view().c_str(), &root), 0);
  ASSERT_EQ(::stat((mount_.view() + "/..").c_str(), &parent), 0);
  struct stat expected_parent;
  ASSERT_EQ(::stat(mount_.dir().path().c_str(), &expected_parent), 0);
  EXPECT_EQ(parent.st_ino, expected_parent.st_ino);  // the mount point's parent, not origin's
}

}  // namespace
}  // namespace wtcachefs::testing
