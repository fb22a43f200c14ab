// SPDX-License-Identifier: Apache-2.0
// Timestamps set through VIEW (utimensat, futimens) land on origin with full
// nanosecond precision, honour UTIME_NOW / UTIME_OMIT, and follow or not follow
// symlinks as asked; permission refusals match origin.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

class posix_times : public PosixViewTest {
 protected:
  void SetUp() override {
    PosixViewTest::SetUp();
    for (const std::string& base : {mount_.view(), reference_}) {
      WriteFile(base + "/f", "x");
      ASSERT_EQ(::symlink("f", (base + "/l").c_str()), 0);
      ASSERT_EQ(::mkdir((base + "/d").c_str(), 0755), 0);
    }
  }
};

constexpr struct timespec kTimes[2] = {{1000000000, 123456789}, {1500000000, 987654321}};

void ExpectTimes(const struct stat& st, const struct timespec (&times)[2],
                 const std::string& what) {
  EXPECT_EQ(st.st_atim.tv_sec, times[0].tv_sec) << what;
  EXPECT_EQ(st.st_atim.tv_nsec, times[0].tv_nsec) << what;
  EXPECT_EQ(st.st_mtim.tv_sec, times[1].tv_sec) << what;
  EXPECT_EQ(st.st_mtim.tv_nsec, times[1].tv_nsec) << what;
}

TEST_F(posix_times, UtimensatSetsNanosecondTimesOnOrigin) {
  for (const char* rel : {"f", "d"}) {
    ASSERT_EQ(::utimensat(AT_FDCWD, V(rel).c_str(), kTimes, 0), 0) << rel;
    ExpectTimes(LstatOf(O(rel)), kTimes, std::string("origin ") + rel);
    ExpectTimes(LstatOf(V(rel)), kTimes, std::string("view ") + rel);
  }
}

TEST_F(posix_times, UtimeNowSetsTheCurrentTimeAndUtimeOmitKeepsTheOther) {
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), kTimes, 0), 0);
  struct timespec before;
  ASSERT_EQ(::clock_gettime(CLOCK_REALTIME, &before), 0);
  const struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), omit_now, 0), 0);
  struct stat o = LstatOf(O("f"));
  EXPECT_EQ(o.st_atim.tv_sec, kTimes[0].tv_sec);
  EXPECT_EQ(o.st_atim.tv_nsec, kTimes[0].tv_nsec);
  EXPECT_GE(o.st_mtim.tv_sec, before.tv_sec - 1);

  const struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  const struct timespec mtime_kept = o.st_mtim;
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), now_omit, 0), 0);
  o = LstatOf(O("f"));
  EXPECT_GE(o.st_atim.tv_sec, before.tv_sec - 1);
  EXPECT_EQ(o.st_mtim.tv_sec, mtime_kept.tv_sec);
  EXPECT_EQ(o.st_mtim.tv_nsec, mtime_kept.tv_nsec);

  const struct timespec omit_both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), omit_both, 0), 0);
  const struct stat unchanged = LstatOf(O("f"));
  EXPECT_EQ(unchanged.st_atim.tv_nsec, o.st_atim.tv_nsec);
  EXPECT_EQ(unchanged.st_mtim.tv_nsec, o.st_mtim.tv_nsec);
  // Both NOW: a null times pointer.
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), kTimes, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), nullptr, 0), 0);
  EXPECT_GE(LstatOf(O("f")).st_atim.tv_sec, before.tv_sec - 1);
  EXPECT_GE(LstatOf(O("f")).st_mtim.tv_sec, before.tv_sec - 1);
}

TEST_F(posix_times, UtimensatNofollowSetsTheSymlinkNotItsTarget) {
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), kTimes, 0), 0);
  const struct timespec link_times[2] = {{1200000000, 111}, {1300000000, 999999999}};
  ASSERT_EQ(::utimensat(AT_FDCWD, V("l").c_str(), link_times, AT_SYMLINK_NOFOLLOW), 0);
  ExpectTimes(LstatOf(O("l")), link_times, "origin link");
  ExpectTimes(LstatOf(V("l")), link_times, "view link");
  ExpectTimes(LstatOf(O("f")), kTimes, "origin target untouched");
  // Without AT_SYMLINK_NOFOLLOW the target is set.
  const struct timespec target_times[2] = {{1400000000, 5}, {1400000001, 6}};
  ASSERT_EQ(::utimensat(AT_FDCWD, R("l").c_str(), link_times, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, V("l").c_str(), target_times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, R("l").c_str(), target_times, 0), 0);
  ExpectTimes(LstatOf(O("f")), target_times, "origin target");
  // The link keeps its mtime; following it may refresh its atime (relatime),
  // which must happen on origin exactly when it happens on the reference.
  const struct stat o = LstatOf(O("l"));
  const struct stat r = LstatOf(R("l"));
  EXPECT_EQ(o.st_mtim.tv_sec, link_times[1].tv_sec);
  EXPECT_EQ(o.st_mtim.tv_nsec, link_times[1].tv_nsec);
  EXPECT_EQ(o.st_atim.tv_sec == link_times[0].tv_sec, r.st_atim.tv_sec == link_times[0].tv_sec);
}

TEST_F(posix_times, FutimensOnAnOpenFileSetsOriginTimes) {
  const int fd = ::open(V("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::futimens(fd, kTimes), 0);
  ExpectTimes(LstatOf(O("f")), kTimes, "origin");
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  ExpectTimes(st, kTimes, "fstat");
  ::close(fd);
}

TEST_F(posix_times, WritingThroughTheViewUpdatesOriginMtime) {
  ASSERT_EQ(::utimensat(AT_FDCWD, V("f").c_str(), kTimes, 0), 0);
  WriteFile(V("f"), "rewritten");
  EXPECT_GT(LstatOf(O("f")).st_mtim.tv_sec, kTimes[1].tv_sec);
  const struct stat v = LstatOf(V("f"));
  const struct stat o = LstatOf(O("f"));
  EXPECT_EQ(v.st_mtim.tv_sec, o.st_mtim.tv_sec);
  EXPECT_EQ(v.st_mtim.tv_nsec, o.st_mtim.tv_nsec);
}

TEST_F(posix_times, OtherUsersMaySetNowButNotExplicitTimesAsOnOrigin) {
  ASSERT_EQ(::chmod(V("f").c_str(), 0666), 0);
  ASSERT_EQ(::chmod(R("f").c_str(), 0666), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
            }, "f"), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::utimensat(AT_FDCWD, p.c_str(), kTimes, 0);
            }, "f"), EPERM);
  ASSERT_EQ(::chmod(V("f").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(R("f").c_str(), 0644), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
            }, "f"), EACCES);
}

}  // namespace
}  // namespace wtcachefs::testing
