// SPDX-License-Identifier: Apache-2.0
// Sizes and names at the limits: files past 4 GiB, 255-byte names (and the
// ENAMETOOLONG beyond), names that are not UTF-8, and trees deeper than PATH_MAX.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

using posix_limits = PosixViewTest;

constexpr off_t kGiB = off_t{1} << 30;

TEST_F(posix_limits, SparseFileBeyondFiveGibibytesReadsBackWithOriginsSize) {
  const int fd = ::open(V("big").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  const off_t far = 5 * kGiB + 123;
  ASSERT_EQ(::pwrite(fd, "tail", 4, far), 4);
  ASSERT_EQ(::pwrite(fd, "abcd", 4, 4 * kGiB - 2), 4);  // across the 32-bit boundary
  char back[4];
  ASSERT_EQ(::pread(fd, back, 4, far), 4);
  EXPECT_EQ(std::string(back, 4), "tail");
  ASSERT_EQ(::pread(fd, back, 4, 4 * kGiB - 2), 4);
  EXPECT_EQ(std::string(back, 4), "abcd");
  EXPECT_EQ(::pread(fd, back, 4, far + 4), 0);  // EOF
  struct stat v;
  ASSERT_EQ(::fstat(fd, &v), 0);
  const struct stat o = LstatOf(O("big"));
  EXPECT_EQ(v.st_size, far + 4);
  EXPECT_EQ(o.st_size, far + 4);
  EXPECT_EQ(v.st_blocks, o.st_blocks);
  EXPECT_LT(o.st_blocks, 1024);  // still sparse on origin
  const int origin_fd = ::open(O("big").c_str(), O_RDONLY);
  ASSERT_GE(origin_fd, 0);
  ASSERT_EQ(::pread(origin_fd, back, 4, far), 4);
  EXPECT_EQ(std::string(back, 4), "tail");
  ASSERT_EQ(::pread(origin_fd, back, 4, 4 * kGiB - 2), 4);
  EXPECT_EQ(std::string(back, 4), "abcd");
  EXPECT_EQ(DataMap(fd), DataMap(origin_fd));
  ::close(origin_fd);
  // Shrinking past the boundary.
  ASSERT_EQ(::ftruncate(fd, 4 * kGiB + 1), 0);
  EXPECT_EQ(LstatOf(O("big")).st_size, 4 * kGiB + 1);
  ::close(fd);
}

TEST_F(posix_limits, NamesOf255BytesWorkForEveryOperation) {
  const std::string name(NAME_MAX, 'n');
  const std::string other(NAME_MAX, 'o');
  WriteFile(V(name), "x");
  EXPECT_EQ(ReadFile(O(name)), "x");
  EXPECT_EQ(LstatOf(V(name)).st_ino, LstatOf(O(name)).st_ino);
  ASSERT_EQ(::rename(V(name).c_str(), V(other).c_str()), 0);
  EXPECT_EQ(ReadFile(O(other)), "x");
  ASSERT_EQ(::mkdir(V(name).c_str(), 0755), 0);
  ASSERT_EQ(::symlink(other.c_str(), V(name + "/" + name).c_str()), 0);
  EXPECT_TRUE(S_ISLNK(LstatOf(O(name + "/" + name)).st_mode));
  ASSERT_EQ(::setxattr(V(other).c_str(), "user.n", "1", 1, 0), 0);
  EXPECT_EQ(SortedListing(V("")), SortedListing(O("")));
  ASSERT_EQ(::unlink(V(other).c_str()), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::access(O(other).c_str(), F_OK); }), ENOENT);
}

TEST_F(posix_limits, NamesOf256BytesFailWithEnametoolongAsOnOrigin) {
  WriteFile(V("file"), "x");
  WriteFile(R("file"), "x");
  const std::string too_long(NAME_MAX + 1, 'n');
  struct stat st;
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return OpenClose(p, O_CREAT | O_WRONLY, 0644);
            }, too_long), ENAMETOOLONG);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) { return ::mkdir(p.c_str(), 0755); },
                            too_long), ENAMETOOLONG);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) { return ::lstat(p.c_str(), &st); },
                            too_long), ENAMETOOLONG);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) { return ::symlink("file", p.c_str()); },
                            too_long), ENAMETOOLONG);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& base) {
              return ::rename((base + "file").c_str(), (base + too_long).c_str());
            }, ""), ENAMETOOLONG);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& base) {
              return ::link((base + "file").c_str(), (base + too_long).c_str());
            }, ""), ENAMETOOLONG);
  EXPECT_EQ(SortedListing(O("")), SortedListing(R("")));
}

TEST_F(posix_limits, NonUtf8NamesRoundTripThroughReaddir) {
  std::string every_high_byte;
  for (int c = 0x80; c <= 0xff; ++c) every_high_byte.push_back(static_cast<char>(c));
  const std::vector<std::string> names = {
      every_high_byte, "caf\xe9", "\xc3\x28", "\xff\xfe", "bad \x80 middle",
      "\xed\xa0\x80 surrogate", std::string(NAME_MAX, '\xe9')};
  for (size_t i = 0; i < names.size(); ++i) {
    // Half created through the view, half on origin directly.
    WriteFile(i % 2 == 0 ? V(names[i]) : O(names[i]), "content " + std::to_string(i));
  }
  EXPECT_EQ(SortedListing(V("")), SortedListing(O("")));
  std::vector<std::string> expected = {".", ".."};
  expected.insert(expected.end(), names.begin(), names.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(SortedListing(V("")), expected);
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(ReadFile(V(names[i])), "content " + std::to_string(i)) << i;
    EXPECT_EQ(ReadFile(O(names[i])), "content " + std::to_string(i)) << i;
  }
  ASSERT_EQ(::rename(V(names[0]).c_str(), V("\x80renamed\xff").c_str()), 0);
  EXPECT_EQ(ReadFile(O("\x80renamed\xff")), "content 0");
}

TEST_F(posix_limits, TreeOf200LevelsDeeperThanPathMaxMirrorsOrigin) {
  constexpr int kDepth = 200;
  const std::string level(30, 'l');  // 200 * 31 bytes: far past PATH_MAX
  int view_fd = ::open(mount_.view().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(view_fd, 0);
  for (int depth = 0; depth < kDepth; ++depth) {
    ASSERT_EQ(::mkdirat(view_fd, level.c_str(), 0755), 0) << depth;
    const int next = ::openat(view_fd, level.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0) << depth;
    ::close(view_fd);
    view_fd = next;
  }
  const int leaf = ::openat(view_fd, "leaf", O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(leaf, 0);
  ASSERT_EQ(::write(leaf, "deep", 4), 4);
  ::close(leaf);
  struct stat view_leaf;
  ASSERT_EQ(::fstatat(view_fd, "leaf", &view_leaf, AT_SYMLINK_NOFOLLOW), 0);
  ::close(view_fd);

  int origin_fd = ::open(mount_.origin().c_str(), O_RDONLY | O_DIRECTORY);
  for (int depth = 0; depth < kDepth; ++depth) {
    const int next = ::openat(origin_fd, level.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0) << depth;
    ::close(origin_fd);
    origin_fd = next;
  }
  struct stat origin_leaf;
  ASSERT_EQ(::fstatat(origin_fd, "leaf", &origin_leaf, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(view_leaf.st_ino, origin_leaf.st_ino);
  EXPECT_EQ(origin_leaf.st_size, 4);
  ::close(origin_fd);

  // A path spelling out the whole tree is too long, through the view as on origin.
  std::string full;
  for (int depth = 0; depth < kDepth; ++depth) full += level + "/";
  full += "leaf";
  ASSERT_EQ(::mkdir(R(level).c_str(), 0755), 0);
  struct stat st;
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) { return ::stat(p.c_str(), &st); },
                            full), ENAMETOOLONG);
  // The first levels are reachable by path.
  std::string shallow;
  for (int depth = 0; depth < 100; ++depth) shallow += level + "/";
  EXPECT_EQ(LstatOf(V(shallow)).st_ino, LstatOf(O(shallow)).st_ino);

  // Removed bottom-up through the view (which also keeps the temporary
  // directory removable by path).
  std::vector<int> parents = {::open(mount_.view().c_str(), O_RDONLY | O_DIRECTORY)};
  for (int depth = 0; depth < kDepth; ++depth) {
    parents.push_back(::openat(parents.back(), level.c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_GE(parents.back(), 0) << depth;
  }
  EXPECT_EQ(::unlinkat(parents.back(), "leaf", 0), 0);
  ::close(parents.back());
  parents.pop_back();
  while (!parents.empty()) {
    EXPECT_EQ(::unlinkat(parents.back(), level.c_str(), AT_REMOVEDIR), 0) << parents.size();
    ::close(parents.back());
    parents.pop_back();
  }
  EXPECT_EQ(SortedListing(O("")), (std::vector<std::string>{".", ".."}));
}

}  // namespace
}  // namespace wtcachefs::testing
