// SPDX-License-Identifier: Apache-2.0
// rename(2) and renameat2(2) through VIEW move origin's entries with origin's
// semantics and errno values.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

// Each test starts with, in both the view and the reference directory:
//   a (file "A"), b (file "B"), full/ (holding x), empty/, other/
class posix_rename : public PosixViewTest {
 protected:
  void SetUp() override {
    PosixViewTest::SetUp();
    for (const std::string& base : {mount_.view(), reference_}) {
      WriteFile(base + "/a", "A");
      WriteFile(base + "/b", "B");
      ASSERT_EQ(::mkdir((base + "/full").c_str(), 0755), 0);
      WriteFile(base + "/full/x", "X");
      ASSERT_EQ(::mkdir((base + "/empty").c_str(), 0755), 0);
      ASSERT_EQ(::mkdir((base + "/other").c_str(), 0755), 0);
    }
  }

  // renameat2(base/from, base/to, flags) in the view and the reference directory.
  int ExpectSameRename(const char* from, const char* to, unsigned flags) {
    return ExpectSameErrno([&](const std::string& base) {
      return ::renameat2(AT_FDCWD, (base + from).c_str(), AT_FDCWD, (base + to).c_str(),
                         flags);
    }, "");
  }
};

TEST_F(posix_rename, RenameNoreplaceFailsWithEexistAsOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/a", "/b", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(ExpectSameRename("/a", "/empty", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(ReadFile(O("a")), "A");
  EXPECT_EQ(ReadFile(O("b")), "B");
}

TEST_F(posix_rename, RenameNoreplaceToAFreeNameMovesOnOrigin) {
  const ino_t ino = LstatOf(O("a")).st_ino;
  EXPECT_EQ(ExpectSameRename("/a", "/c", RENAME_NOREPLACE), 0);
  EXPECT_EQ(ReadFile(O("c")), "A");
  EXPECT_EQ(LstatOf(O("c")).st_ino, ino);
  EXPECT_EQ(LstatOf(V("c")).st_ino, ino);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("a").c_str(), F_OK); }), ENOENT);
  EXPECT_EQ(ErrnoOf([&] { return ::access(V("a").c_str(), F_OK); }), ENOENT);
}

TEST_F(posix_rename, RenameExchangeSwapsTwoFilesOnOrigin) {
  const ino_t a = LstatOf(O("a")).st_ino;
  const ino_t b = LstatOf(O("b")).st_ino;
  EXPECT_EQ(ExpectSameRename("/a", "/b", RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(O("a")), "B");
  EXPECT_EQ(ReadFile(O("b")), "A");
  EXPECT_EQ(ReadFile(V("a")), "B");
  EXPECT_EQ(LstatOf(V("a")).st_ino, b);
  EXPECT_EQ(LstatOf(V("b")).st_ino, a);
}

TEST_F(posix_rename, RenameExchangeSwapsAFileAndADirectoryOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/a", "/full", RENAME_EXCHANGE), 0);
  EXPECT_TRUE(S_ISDIR(LstatOf(O("a")).st_mode));
  EXPECT_EQ(ReadFile(O("a/x")), "X");
  EXPECT_EQ(ReadFile(V("a/x")), "X");
  EXPECT_EQ(ReadFile(O("full")), "A");
  EXPECT_EQ(ReadFile(V("full")), "A");
}

TEST_F(posix_rename, RenameExchangeWithMissingTargetFailsWithEnoentAsOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/a", "/missing", RENAME_EXCHANGE), ENOENT);
  EXPECT_EQ(ExpectSameRename("/a", "/b", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
  EXPECT_EQ(ReadFile(O("a")), "A");
}

TEST_F(posix_rename, RenameOverExistingFileReplacesItOnOrigin) {
  const ino_t a = LstatOf(O("a")).st_ino;
  const int open_target = ::open(V("b").c_str(), O_RDONLY);
  ASSERT_GE(open_target, 0);
  EXPECT_EQ(ExpectSameRename("/a", "/b", 0), 0);
  EXPECT_EQ(ReadFile(O("b")), "A");
  EXPECT_EQ(ReadFile(V("b")), "A");
  EXPECT_EQ(LstatOf(V("b")).st_ino, a);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("a").c_str(), F_OK); }), ENOENT);
  // The replaced file lives on while open.
  char buffer[2] = {};
  EXPECT_EQ(::pread(open_target, buffer, 1, 0), 1);
  EXPECT_STREQ(buffer, "B");
  ::close(open_target);
}

TEST_F(posix_rename, RenameOverEmptyDirectoryReplacesItOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/other", "/empty", 0), 0);
  EXPECT_TRUE(S_ISDIR(LstatOf(O("empty")).st_mode));
  EXPECT_EQ(ErrnoOf([&] { return ::access(O("other").c_str(), F_OK); }), ENOENT);
  EXPECT_EQ(SortedListing(V("")), SortedListing(R("")));
}

TEST_F(posix_rename, RenameOverNonEmptyDirectoryFailsWithEnotemptyAsOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/empty", "/full", 0), ENOTEMPTY);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) { return ::rmdir(p.c_str()); }, "full"),
            ENOTEMPTY);
  EXPECT_EQ(ReadFile(O("full/x")), "X");
}

TEST_F(posix_rename, RenameTypeAndLoopErrorsMatchOrigin) {
  EXPECT_EQ(ExpectSameRename("/a", "/empty", 0), EISDIR);
  EXPECT_EQ(ExpectSameRename("/empty", "/a", 0), ENOTDIR);
  EXPECT_EQ(ExpectSameRename("/full", "/full/inside", 0), EINVAL);
  EXPECT_EQ(ExpectSameRename("/missing", "/c", 0), ENOENT);
  EXPECT_EQ(ExpectSameRename("/a", "/missing-dir/c", 0), ENOENT);
  EXPECT_EQ(ExpectSameRename("/a", "/b/c", 0), ENOTDIR);
  EXPECT_EQ(ExpectSameRename("/a", "/a", 0), 0);
  EXPECT_EQ(SortedListing(V("")), SortedListing(R("")));
}

TEST_F(posix_rename, RenameAcrossDirectoriesMovesTheSubtreeOnOrigin) {
  EXPECT_EQ(ExpectSameRename("/full", "/other/moved", 0), 0);
  EXPECT_EQ(ReadFile(O("other/moved/x")), "X");
  EXPECT_EQ(ReadFile(V("other/moved/x")), "X");
  EXPECT_EQ(ExpectSameRename("/a", "/other/moved/a", 0), 0);
  EXPECT_EQ(ReadFile(O("other/moved/a")), "A");
  EXPECT_EQ(SortedListing(V("other/moved")), SortedListing(O("other/moved")));
  // ".." of the moved directory is its new parent.
  EXPECT_EQ(LstatOf(V("other/moved/..")).st_ino, LstatOf(O("other")).st_ino);
  EXPECT_EQ(LstatOf(O("other")).st_nlink, LstatOf(R("other")).st_nlink);
}

}  // namespace
}  // namespace wtcachefs::testing
