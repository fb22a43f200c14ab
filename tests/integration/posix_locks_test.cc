// SPDX-License-Identifier: Apache-2.0
// Advisory locks taken through VIEW (POSIX record locks, OFD locks, flock)
// conflict between processes and open file descriptions exactly as on a local
// filesystem. The kernel keeps them per mount (MirrorFs leaves locking to it).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

class posix_locks : public PosixViewTest {
 protected:
  void SetUp() override {
    PosixViewTest::SetUp();
    WriteFile(V("f"), "0123456789");
    WriteFile(R("f"), "0123456789");
  }
};

struct flock Range(short type, off_t start, off_t length) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = start;
  lock.l_len = length;
  return lock;
}

// Runs `body` in a child process and returns its exit code (-1 if it died).
int InChild(const std::function<int()>& body) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(body());
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// In a child: opens `path` and tries F_SETLK with `want`; exit code is the errno.
int ChildSetlkErrno(const std::string& path, struct flock want) {
  return InChild([&] {
    const int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) return 200;
    return ErrnoOf([&] { return ::fcntl(fd, F_SETLK, &want); });
  });
}

TEST_F(posix_locks, RecordLockConflictsAcrossProcessesAsOnOrigin) {
  for (const std::string& p : {V("f"), R("f")}) {
    const int fd = ::open(p.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    struct flock held = Range(F_WRLCK, 2, 3);
    ASSERT_EQ(::fcntl(fd, F_SETLK, &held), 0);
    const int overlapping = ChildSetlkErrno(p, Range(F_WRLCK, 3, 1));
    const int read_overlapping = ChildSetlkErrno(p, Range(F_RDLCK, 4, 10));
    const int outside = ChildSetlkErrno(p, Range(F_WRLCK, 5, 5));
    EXPECT_EQ(overlapping, EAGAIN) << p;
    EXPECT_EQ(read_overlapping, EAGAIN) << p;
    EXPECT_EQ(outside, 0) << p;
    // Unlocking lets the other process in.
    struct flock unlock = Range(F_UNLCK, 0, 0);
    ASSERT_EQ(::fcntl(fd, F_SETLK, &unlock), 0);
    EXPECT_EQ(ChildSetlkErrno(p, Range(F_WRLCK, 3, 1)), 0) << p;
    ::close(fd);
  }
}

TEST_F(posix_locks, GetlkReportsTheHoldersPidAndRange) {
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct flock held = Range(F_RDLCK, 2, 3);
  ASSERT_EQ(::fcntl(fd, F_SETLK, &held), 0);
  const pid_t holder = ::getpid();
  // Exit codes: 0 all good, 1-9 which check failed.
  const int result = InChild([&] {
    const int cfd = ::open(V("f").c_str(), O_RDWR);
    struct flock want = Range(F_WRLCK, 0, 0);
    if (::fcntl(cfd, F_GETLK, &want) != 0) return 1;
    if (want.l_type != F_RDLCK) return 2;
    if (want.l_pid != holder) return 3;
    if (want.l_start != 2 || want.l_len != 3) return 4;
    struct flock reader = Range(F_RDLCK, 0, 0);
    if (::fcntl(cfd, F_GETLK, &reader) != 0) return 5;
    if (reader.l_type != F_UNLCK) return 6;  // read locks share
    return 0;
  });
  EXPECT_EQ(result, 0);
  ::close(fd);
}

TEST_F(posix_locks, ClosingAnyDescriptorReleasesTheProcessesRecordLocks) {
  const int fd = ::open(V("f").c_str(), O_RDWR);
  const int other = ::open(V("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_GE(other, 0);
  struct flock held = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(::fcntl(fd, F_SETLK, &held), 0);
  EXPECT_EQ(ChildSetlkErrno(V("f"), Range(F_WRLCK, 0, 1)), EAGAIN);
  ::close(other);  // POSIX: releases the locks this process holds on the file
  EXPECT_EQ(ChildSetlkErrno(V("f"), Range(F_WRLCK, 0, 1)), 0);
  ::close(fd);
}

TEST_F(posix_locks, OfdLocksConflictBetweenOpenFileDescriptions) {
  const int a = ::open(V("f").c_str(), O_RDWR);
  const int b = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  struct flock held = Range(F_WRLCK, 0, 5);
  ASSERT_EQ(::fcntl(a, F_OFD_SETLK, &held), 0);
  struct flock want = Range(F_WRLCK, 4, 1);
  EXPECT_EQ(ErrnoOf([&] { return ::fcntl(b, F_OFD_SETLK, &want); }), EAGAIN);
  want = Range(F_WRLCK, 5, 1);
  EXPECT_EQ(ErrnoOf([&] { return ::fcntl(b, F_OFD_SETLK, &want); }), 0);
  ::close(a);
  ::close(b);
}

TEST_F(posix_locks, FlockExclusiveConflictsBetweenOpenFileDescriptionsWithEwouldblock) {
  for (const std::string& p : {V("f"), R("f")}) {
    const int a = ::open(p.c_str(), O_RDONLY);
    const int b = ::open(p.c_str(), O_RDONLY);
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    ASSERT_EQ(::flock(a, LOCK_EX | LOCK_NB), 0);
    EXPECT_EQ(ErrnoOf([&] { return ::flock(b, LOCK_EX | LOCK_NB); }), EWOULDBLOCK) << p;
    EXPECT_EQ(ErrnoOf([&] { return ::flock(b, LOCK_SH | LOCK_NB); }), EWOULDBLOCK) << p;
    // A dup shares the open file description, and with it the lock.
    const int dup_a = ::dup(a);
    EXPECT_EQ(ErrnoOf([&] { return ::flock(dup_a, LOCK_EX | LOCK_NB); }), 0) << p;
    // Another process conflicts too.
    EXPECT_EQ(InChild([&] {
                const int c = ::open(p.c_str(), O_RDONLY);
                return ErrnoOf([&] { return ::flock(c, LOCK_EX | LOCK_NB); });
              }), EWOULDBLOCK) << p;
    ASSERT_EQ(::flock(a, LOCK_UN), 0);
    EXPECT_EQ(ErrnoOf([&] { return ::flock(b, LOCK_EX | LOCK_NB); }), 0) << p;
    ::close(dup_a);
    ::close(a);
    ::close(b);
  }
}

TEST_F(posix_locks, FlockSharedLocksCoexistAndBlockExclusive) {
  const int a = ::open(V("f").c_str(), O_RDONLY);
  const int b = ::open(V("f").c_str(), O_RDONLY);
  const int c = ::open(V("f").c_str(), O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GE(c, 0);
  EXPECT_EQ(::flock(a, LOCK_SH | LOCK_NB), 0);
  EXPECT_EQ(::flock(b, LOCK_SH | LOCK_NB), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::flock(c, LOCK_EX | LOCK_NB); }), EWOULDBLOCK);
  ::close(a);
  ::close(b);  // closing the last descriptor of a description drops its lock
  EXPECT_EQ(::flock(c, LOCK_EX | LOCK_NB), 0);
  ::close(c);
}

}  // namespace
}  // namespace wtcachefs::testing
