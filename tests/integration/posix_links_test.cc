// SPDX-License-Identifier: Apache-2.0
// Hard links, symbolic links, special files and unlinked-but-open files behave
// through VIEW as on origin.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

using posix_links = PosixViewTest;

std::string ReadLink(const std::string& path) {
  char target[PATH_MAX + 1];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
  if (n < 0) return "<" + ErrnoName(errno) + ">";
  return std::string(target, static_cast<size_t>(n));
}

TEST_F(posix_links, HardLinkSharesOneInodeAndCountsLinksAsOnOrigin) {
  WriteFile(V("a"), "shared");
  ASSERT_EQ(::link(V("a").c_str(), V("b").c_str()), 0);
  const struct stat a = LstatOf(V("a"));
  const struct stat b = LstatOf(V("b"));
  const struct stat origin = LstatOf(O("b"));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_ino, origin.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(b.st_nlink, 2u);
  EXPECT_EQ(origin.st_nlink, 2u);
  ASSERT_EQ(::link(V("b").c_str(), V("c").c_str()), 0);
  EXPECT_EQ(LstatOf(V("a")).st_nlink, 3u);
  WriteFile(V("c"), "changed");
  EXPECT_EQ(ReadFile(V("a")), "changed");
  EXPECT_EQ(ReadFile(O("b")), "changed");
  ASSERT_EQ(::unlink(V("a").c_str()), 0);
  EXPECT_EQ(LstatOf(V("b")).st_nlink, 2u);
  EXPECT_EQ(LstatOf(O("b")).st_nlink, 2u);
}

TEST_F(posix_links, HardLinkErrorsMatchOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    WriteFile(base + "/file", "x");
    WriteFile(base + "/taken", "y");
    ASSERT_EQ(::mkdir((base + "/dir").c_str(), 0755), 0);
  }
  const auto link_to = [](const char* from, const char* to) {
    return [from, to](const std::string& base) {
      return ::link((base + from).c_str(), (base + to).c_str());
    };
  };
  EXPECT_EQ(ExpectSameErrno(link_to("/file", "/taken"), ""), EEXIST);
  EXPECT_EQ(ExpectSameErrno(link_to("/dir", "/dir-link"), ""), EPERM);
  EXPECT_EQ(ExpectSameErrno(link_to("/missing", "/new"), ""), ENOENT);
  EXPECT_EQ(ExpectSameErrno(link_to("/file", "/nodir/new"), ""), ENOENT);
  EXPECT_EQ(ExpectSameErrno(link_to("/file", "/file/new"), ""), ENOTDIR);
}

TEST_F(posix_links, SymlinkTargetIsStoredVerbatimAndLstatMatchesOrigin) {
  const std::string target = "../somewhere/./\xff\x80-odd//x";
  ASSERT_EQ(::symlink(target.c_str(), V("link").c_str()), 0);
  EXPECT_EQ(ReadLink(V("link")), target);
  EXPECT_EQ(ReadLink(O("link")), target);
  const struct stat v = LstatOf(V("link"));
  const struct stat o = LstatOf(O("link"));
  EXPECT_TRUE(S_ISLNK(v.st_mode));
  EXPECT_EQ(v.st_mode, o.st_mode);
  EXPECT_EQ(v.st_size, static_cast<off_t>(target.size()));
  EXPECT_EQ(v.st_ino, o.st_ino);
  // readlink on a non-link fails as on origin.
  WriteFile(V("plain"), "x");
  WriteFile(R("plain"), "x");
  char buffer[8];
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::readlink(p.c_str(), buffer, sizeof(buffer));
            }, "plain"), EINVAL);
}

TEST_F(posix_links, SymlinkToAFileInTheViewIsFollowed) {
  ASSERT_EQ(::mkdir(V("d").c_str(), 0755), 0);
  WriteFile(V("d/target"), "followed");
  ASSERT_EQ(::symlink("d/target", V("rel").c_str()), 0);
  ASSERT_EQ(::symlink("../d", V("d/up").c_str()), 0);
  EXPECT_EQ(ReadFile(V("rel")), "followed");
  EXPECT_EQ(ReadFile(V("d/up/target")), "followed");
  struct stat followed;
  ASSERT_EQ(::stat(V("rel").c_str(), &followed), 0);
  EXPECT_EQ(followed.st_ino, LstatOf(O("d/target")).st_ino);
}

TEST_F(posix_links, DanglingSymlinkBehavesAsOnOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    ASSERT_EQ(::symlink("missing-target", (base + "/dangling").c_str()), 0);
    ASSERT_EQ(::symlink("loop-b", (base + "/loop-a").c_str()), 0);
    ASSERT_EQ(::symlink("loop-a", (base + "/loop-b").c_str()), 0);
  }
  struct stat st;
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) { return ::stat(p.c_str(), &st); },
                            "dangling"), ENOENT);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) { return ::lstat(p.c_str(), &st); },
                            "dangling"), 0);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) { return OpenClose(p, O_RDONLY); },
                            "dangling"), ENOENT);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return OpenClose(p, O_RDONLY | O_NOFOLLOW);
            }, "dangling"), ELOOP);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return OpenClose(p, O_CREAT | O_EXCL | O_WRONLY);
            }, "dangling"), EEXIST);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) { return ::stat(p.c_str(), &st); },
                            "loop-a"), ELOOP);
  // O_CREAT through a dangling link creates its target.
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0600);
            }, "dangling"), 0);
  EXPECT_TRUE(S_ISREG(LstatOf(O("missing-target")).st_mode));
  EXPECT_TRUE(S_ISLNK(LstatOf(O("dangling")).st_mode));
}

TEST_F(posix_links, LongestSymlinkTargetRoundTripsAndLongerFailsAsOnOrigin) {
  const std::string longest(PATH_MAX - 1, 'x');
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::symlink(longest.c_str(), p.c_str());
            }, "longest"), 0);
  EXPECT_EQ(ReadLink(V("longest")), longest);
  EXPECT_EQ(ReadLink(O("longest")), longest);
  const std::string too_long(PATH_MAX, 'x');
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::symlink(too_long.c_str(), p.c_str());
            }, "too-long"), ENAMETOOLONG);
}

TEST_F(posix_links, FifoCreatedThroughViewIsAFifoOnOriginAndCarriesData) {
  ASSERT_EQ(::mkfifo(V("fifo").c_str(), 0640), 0);
  const struct stat o = LstatOf(O("fifo"));
  EXPECT_TRUE(S_ISFIFO(o.st_mode));
  EXPECT_EQ(o.st_mode & 07777, 0640u);
  EXPECT_EQ(LstatOf(V("fifo")).st_mode, o.st_mode);
  const pid_t writer = ::fork();
  if (writer == 0) {
    const int fd = ::open(V("fifo").c_str(), O_WRONLY);
    ::_exit(fd >= 0 && ::write(fd, "through", 7) == 7 ? 0 : 1);
  }
  const int fd = ::open(V("fifo").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buffer[16] = {};
  EXPECT_EQ(::read(fd, buffer, sizeof(buffer)), 7);
  EXPECT_STREQ(buffer, "through");
  ::close(fd);
  int status = 0;
  ::waitpid(writer, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(posix_links, CharDeviceNodeKeepsItsDeviceNumberOnOrigin) {
  for (const dev_t dev : {makedev(1, 3), makedev(259, 70000), makedev(4095, 0xfffff)}) {
    const std::string rel = "dev-" + std::to_string(major(dev)) + "-" + std::to_string(minor(dev));
    ASSERT_EQ(::mknod(V(rel).c_str(), S_IFCHR | 0620, dev), 0) << rel;
    ASSERT_EQ(::mknod(R(rel).c_str(), S_IFCHR | 0620, dev), 0) << rel;
    const struct stat o = LstatOf(O(rel));
    EXPECT_TRUE(S_ISCHR(o.st_mode)) << rel;
    EXPECT_EQ(o.st_rdev, dev) << rel;
    EXPECT_EQ(o.st_mode, LstatOf(R(rel)).st_mode) << rel;
    EXPECT_EQ(LstatOf(V(rel)).st_rdev, dev) << rel;
  }
  ASSERT_EQ(::mknod(V("blk").c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  EXPECT_TRUE(S_ISBLK(LstatOf(O("blk")).st_mode));
  EXPECT_EQ(LstatOf(O("blk")).st_rdev, makedev(7, 0));
  // An unprivileged user may not make device nodes, as on origin.
  ASSERT_EQ(::chmod(V("").c_str(), 0777), 0);
  ASSERT_EQ(::chmod(reference_.c_str(), 0777), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::mknod(p.c_str(), S_IFCHR | 0600, makedev(1, 3));
            }, "by-nobody"), EPERM);
}

TEST_F(posix_links, SpecialFilesTakeModeOwnerAndTimesAsOnOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    ASSERT_EQ(::mkfifo((base + "/fifo").c_str(), 0600), 0);
    ASSERT_EQ(::mknod((base + "/null").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
  }
  const struct timespec times[2] = {{1100000000, 1}, {1200000000, 2}};
  for (const char* rel : {"fifo", "null"}) {
    for (const std::string& p : {V(rel), R(rel)}) {
      ASSERT_EQ(::chmod(p.c_str(), 0651), 0) << p;
      ASSERT_EQ(::chown(p.c_str(), 321, 654), 0) << p;
      ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
    }
    const struct stat o = LstatOf(O(rel));
    const struct stat r = LstatOf(R(rel));
    EXPECT_EQ(o.st_mode, r.st_mode) << rel;
    EXPECT_EQ(o.st_uid, 321u) << rel;
    EXPECT_EQ(o.st_gid, 654u) << rel;
    EXPECT_EQ(o.st_mtim.tv_sec, times[1].tv_sec) << rel;
    EXPECT_EQ(o.st_mtim.tv_nsec, times[1].tv_nsec) << rel;
    EXPECT_EQ(LstatOf(V(rel)).st_mode, o.st_mode) << rel;
  }
}

TEST_F(posix_links, UnlinkedOpenFileStillTakesModeOwnerAndTimes) {
  WriteFile(V("f"), "x");
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const int origin_fd = ::open(O("f").c_str(), O_RDONLY);
  ASSERT_GE(origin_fd, 0);
  ASSERT_EQ(::unlink(V("f").c_str()), 0);
  EXPECT_EQ(::fchmod(fd, 0604), 0);
  EXPECT_EQ(::fchown(fd, 77, 88), 0);
  const struct timespec times[2] = {{1100000000, 3}, {1200000000, 4}};
  EXPECT_EQ(::futimens(fd, times), 0);
  EXPECT_EQ(::ftruncate(fd, 100), 0);
  struct stat o;
  ASSERT_EQ(::fstat(origin_fd, &o), 0);
  EXPECT_EQ(o.st_mode & 07777, 0604u);
  EXPECT_EQ(o.st_uid, 77u);
  EXPECT_EQ(o.st_gid, 88u);
  EXPECT_EQ(o.st_size, 100);
  EXPECT_EQ(o.st_nlink, 0u);
  ::close(origin_fd);
  ::close(fd);
}

TEST_F(posix_links, UnlinkedOpenFileStaysReadableAndWritable) {
  WriteFile(V("f"), "still here");
  WriteFile(R("f"), "still here");
  const int fd = ::open(V("f").c_str(), O_RDWR);
  const int rfd = ::open(R("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_GE(rfd, 0);
  ASSERT_EQ(::unlink(V("f").c_str()), 0);
  ASSERT_EQ(::unlink(R("f").c_str()), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("f").c_str(), F_OK); }), ENOENT);
  EXPECT_EQ(ErrnoOf([&] { return ::access(V("f").c_str(), F_OK); }), ENOENT);
  char buffer[32] = {};
  EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 0), 10);
  EXPECT_STREQ(buffer, "still here");
  EXPECT_EQ(::pwrite(fd, " and more", 9, 10), 9);
  std::memset(buffer, 0, sizeof(buffer));
  EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 0), 19);
  EXPECT_STREQ(buffer, "still here and more");
  struct stat v, r;
  ASSERT_EQ(::fstat(fd, &v), 0);
  ASSERT_EQ(::fstat(rfd, &r), 0);
  EXPECT_EQ(v.st_nlink, r.st_nlink);
  EXPECT_EQ(v.st_nlink, 0u);
  EXPECT_EQ(v.st_size, 19);
  // A new file of the same name is a different object.
  WriteFile(V("f"), "new");
  EXPECT_EQ(ReadFile(O("f")), "new");
  EXPECT_EQ(::pread(fd, buffer, 5, 0), 5);
  EXPECT_EQ(std::string(buffer, 5), "still");
  ::close(fd);
  ::close(rfd);
}

}  // namespace
}  // namespace wtcachefs::testing
