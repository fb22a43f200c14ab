// SPDX-License-Identifier: Apache-2.0
// Directory listings through VIEW are origin's: every entry with its inode
// number and type, in origin's order and with origin's offsets, so telldir /
// seekdir / rewinddir work as on origin, also for 100,000 entries.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

using posix_readdir = PosixViewTest;

struct Entry {
  std::string name;
  ino_t ino;
  unsigned char type;
  off_t offset;
  bool operator==(const Entry&) const = default;
  bool operator<(const Entry& o) const { return name < o.name; }
};

std::ostream& operator<<(std::ostream& out, const Entry& e) {
  return out << "{" << e.name << " ino " << e.ino << " type " << int{e.type} << " off "
             << e.offset << "}";
}

// The entries of `path` in readdir order.
std::vector<Entry> Entries(const std::string& path) {
  std::vector<Entry> entries;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    ADD_FAILURE() << "opendir " << path << ": " << ErrnoName(errno);
    return entries;
  }
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    entries.push_back({e->d_name, e->d_ino, e->d_type, e->d_off});
  }
  EXPECT_EQ(errno, 0) << path;
  ::closedir(dir);
  return entries;
}

// Fills ORIGIN/`dir` with `count` regular files (made directly on origin, fast).
void MakeEntries(const std::string& dir, int count) {
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir_fd, 0);
  for (int i = 0; i < count; ++i) {
    const std::string name = "entry-" + std::to_string(i);
    ASSERT_EQ(::mknodat(dir_fd, name.c_str(), S_IFREG | 0644, 0), 0) << name;
  }
  ::close(dir_fd);
}

TEST_F(posix_readdir, HundredThousandEntriesListExactlyAsOnOrigin) {
  MakeEntries(O("many"), 100000);
  std::vector<Entry> view = Entries(V("many"));
  std::vector<Entry> origin = Entries(O("many"));
  ASSERT_EQ(view.size(), 100002u);
  // Same order and offsets: the view hands out origin's d_off.
  EXPECT_TRUE(view == origin) << "readdir order, inode numbers, types or offsets differ";
  std::sort(view.begin(), view.end());
  std::sort(origin.begin(), origin.end());
  EXPECT_EQ(view, origin);
  EXPECT_EQ(view[2].name, "entry-0");
  EXPECT_EQ(view[2].type, DT_REG);
}

TEST_F(posix_readdir, EntryTypesAndInodeNumbersMatchLstat) {
  ASSERT_EQ(::mkdir(O("d").c_str(), 0755), 0);
  WriteFile(O("d/file"), "x");
  ASSERT_EQ(::mkdir(O("d/dir").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("file", O("d/link").c_str()), 0);
  ASSERT_EQ(::mkfifo(O("d/fifo").c_str(), 0644), 0);
  const std::vector<Entry> view = Entries(V("d"));
  EXPECT_EQ(view, Entries(O("d")));
  ASSERT_EQ(view.size(), 6u);
  for (const Entry& e : view) {
    if (e.name == "..") continue;
    const struct stat st = LstatOf(V("d/" + e.name));
    EXPECT_EQ(e.ino, st.st_ino) << e;
    EXPECT_EQ(DTTOIF(e.type), st.st_mode & S_IFMT) << e;
  }
}

TEST_F(posix_readdir, SeekdirReturnsToPositionsFromTelldir) {
  MakeEntries(O("dir"), 5000);
  DIR* dir = ::opendir(V("dir").c_str());
  ASSERT_NE(dir, nullptr);
  std::vector<std::string> names;
  std::vector<long> positions;  // positions[i]: telldir before reading names[i]
  while (true) {
    positions.push_back(::telldir(dir));
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    names.emplace_back(e->d_name);
  }
  ASSERT_EQ(names.size(), 5002u);
  for (const size_t at : {size_t{0}, size_t{1}, size_t{777}, size_t{2500}, size_t{5001}}) {
    ::seekdir(dir, positions[at]);
    for (size_t i = at; i < std::min(names.size(), at + 300); ++i) {
      const dirent* e = ::readdir(dir);
      ASSERT_NE(e, nullptr) << "after seekdir to entry " << at << ", entry " << i;
      ASSERT_EQ(names[i], e->d_name) << "after seekdir to entry " << at;
    }
  }
  ::seekdir(dir, positions.back());
  EXPECT_EQ(::readdir(dir), nullptr);
  ::closedir(dir);
}

TEST_F(posix_readdir, RewinddirListsAgainIncludingChangesSinceOpening) {
  MakeEntries(O("dir"), 3000);
  DIR* dir = ::opendir(V("dir").c_str());
  ASSERT_NE(dir, nullptr);
  std::vector<std::string> first;
  while (const dirent* e = ::readdir(dir)) first.emplace_back(e->d_name);
  ASSERT_EQ(first.size(), 3002u);
  WriteFile(V("dir/added-after-open"), "x");
  ASSERT_EQ(::unlink(V("dir/entry-7").c_str()), 0);
  ::rewinddir(dir);
  std::vector<std::string> second;
  while (const dirent* e = ::readdir(dir)) second.emplace_back(e->d_name);
  ::closedir(dir);
  std::sort(second.begin(), second.end());
  EXPECT_EQ(second, SortedListing(O("dir")));
  EXPECT_TRUE(std::binary_search(second.begin(), second.end(), "added-after-open"));
  EXPECT_FALSE(std::binary_search(second.begin(), second.end(), "entry-7"));
}

TEST_F(posix_readdir, EmptyAndRemovedDirectoriesListAsOnOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    ASSERT_EQ(::mkdir((base + "/empty").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((base + "/doomed").c_str(), 0755), 0);
  }
  EXPECT_EQ(SortedListing(V("empty")), (std::vector<std::string>{".", ".."}));
  // A directory removed while open lists nothing, not even "." and "..".
  for (const std::string& base : {mount_.view(), reference_}) {
    DIR* dir = ::opendir((base + "/doomed").c_str());
    ASSERT_NE(dir, nullptr);
    ASSERT_EQ(::rmdir((base + "/doomed").c_str()), 0);
    int count = 0;
    while (::readdir(dir) != nullptr) ++count;
    EXPECT_EQ(count, 0) << base;
    ::closedir(dir);
  }
}

}  // namespace
}  // namespace wtcachefs::testing
