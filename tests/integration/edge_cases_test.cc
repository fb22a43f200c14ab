// SPDX-License-Identifier: Apache-2.0
// Inputs at the edges, through a real mount: zero-length files, names with
// newlines and invalid UTF-8, paths of 4,095 bytes (PATH_MAX with its NUL), and
// a sparse file past 2^40 bytes. Each is checked against origin.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <string>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(stream);
  return names;
}

class EdgeCasesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mount_.ok()) << mount_.failure(); }
  MountedView mount_;
};

TEST_F(EdgeCasesTest, ZeroLengthFiles) {
  WriteFile(mount_.ViewPath("empty"), "");
  struct stat st;
  ASSERT_EQ(::stat(mount_.OriginPath("empty").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(ReadFile(mount_.ViewPath("empty")), "");
  // Truncated to zero after having data (and cached blocks).
  WriteFile(mount_.ViewPath("emptied"), Pattern(300000, 1));
  EXPECT_EQ(ReadFile(mount_.ViewPath("emptied")).size(), 300000u);
  ASSERT_EQ(::truncate(mount_.ViewPath("emptied").c_str(), 0), 0);
  EXPECT_EQ(ReadFile(mount_.ViewPath("emptied")), "");
  EXPECT_EQ(ReadFile(mount_.OriginPath("emptied")), "");
}

TEST_F(EdgeCasesTest, NamesWithNewlinesAndInvalidUtf8) {
  const std::string names[] = {"line\nbreak", "\xff\xfe\xfd", "tab\there", "trailing\n",
                               std::string("\xc3\x28 bad pair")};
  for (const std::string& name : names) {
    WriteFile(mount_.ViewPath(name), "content of " + name);
    EXPECT_EQ(ReadFile(mount_.OriginPath(name)), "content of " + name);
  }
  const std::set<std::string> expected(std::begin(names), std::end(names));
  EXPECT_EQ(Names(mount_.view()), expected);
  EXPECT_EQ(Names(mount_.origin()), expected);
  ASSERT_EQ(::rename(mount_.ViewPath(names[0]).c_str(), mount_.ViewPath(names[1] + "\n").c_str()),
            0);
  EXPECT_TRUE(Names(mount_.origin()).contains(names[1] + "\n"));
}

TEST_F(EdgeCasesTest, PathsOfPathMaxBytes) {
  // Nested 200-byte directory names up to a path (relative to the view) of
  // 4,095 bytes, worked on with *at() calls from the view's directory fd.
  const int view_fd = ::open(mount_.view().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(view_fd, 0);
  std::string relative;
  const std::string component(200, 'd');
  // Directories until the rest of the 4,095 bytes fits one name (255 at most).
  while (PATH_MAX - 1 - relative.size() - (relative.empty() ? 0 : 1) > NAME_MAX) {
    relative += (relative.empty() ? "" : "/") + component;
    ASSERT_EQ(::mkdirat(view_fd, relative.c_str(), 0755), 0) << relative.size();
  }
  const std::string leaf(PATH_MAX - 1 - relative.size() - 1, 'f');
  const std::string path = relative + "/" + leaf;
  ASSERT_EQ(path.size(), static_cast<size_t>(PATH_MAX - 1));
  const int fd = ::openat(view_fd, path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "deep", 4), 4);
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::fstatat(view_fd, path.c_str(), &st, 0), 0);
  EXPECT_EQ(st.st_size, 4);
  const int origin_fd = ::open(mount_.origin().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_EQ(::fstatat(origin_fd, path.c_str(), &st, 0), 0) << "the file is not on origin";
  EXPECT_EQ(st.st_size, 4);
  // One byte more is ENAMETOOLONG, from the kernel, as on origin.
  errno = 0;
  EXPECT_EQ(::openat(view_fd, (path + "x").c_str(), O_RDONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
  ::close(origin_fd);
  ::close(view_fd);
}

TEST_F(EdgeCasesTest, SparseFilePastTwoToTheFortyBytes) {
  const off_t far = (off_t{1} << 40) + 12345;
  const std::string data = Pattern(10000, 7);
  const int fd = ::open(mount_.ViewPath("huge").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), far), static_cast<ssize_t>(data.size()))
      << std::strerror(errno);
  std::string back(data.size(), '\0');
  ASSERT_EQ(::pread(fd, back.data(), back.size(), far), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == data);
  char hole[4096];
  ASSERT_EQ(::pread(fd, hole, sizeof(hole), far / 2), static_cast<ssize_t>(sizeof(hole)));
  EXPECT_EQ(std::string(hole, sizeof(hole)), std::string(sizeof(hole), '\0'));
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::stat(mount_.OriginPath("huge").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, far + static_cast<off_t>(data.size()));
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "origin is no longer sparse";
  const int origin = ::open(mount_.OriginPath("huge").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(::pread(origin, back.data(), back.size(), far), static_cast<ssize_t>(back.size()));
  ::close(origin);
  EXPECT_TRUE(back == data);
}

}  // namespace
}  // namespace wtcachefs::testing
