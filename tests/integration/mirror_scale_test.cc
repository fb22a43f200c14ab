// Trees and directories at sizes real data sets have.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

std::vector<std::string> SortedListing(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return names;
  while (const dirent* e = ::readdir(dir)) names.emplace_back(e->d_name);
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(MirrorScale, DirectoryOfOneHundredThousandEntriesListsCompletely) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string dir = mount.OriginPath("many");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  for (int i = 0; i < 100000; ++i) {
    const int fd = ::open((dir + "/entry-" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  const std::vector<std::string> through_view = SortedListing(mount.ViewPath("many"));
  EXPECT_EQ(through_view.size(), 100002u);
  EXPECT_EQ(through_view, SortedListing(dir));
}

TEST(MirrorScale, RewindingADirectoryListsItAgain) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  for (int i = 0; i < 3000; ++i) WriteFile(mount.OriginPath("f" + std::to_string(i)), "");
  DIR* dir = ::opendir(mount.view().c_str());
  ASSERT_NE(dir, nullptr);
  size_t first = 0, second = 0;
  long middle = -1;
  std::string at_middle;
  while (const dirent* e = ::readdir(dir)) {
    if (++first == 1500) {
      middle = ::telldir(dir);
    }
    if (first == 1501) at_middle = e->d_name;
  }
  ::rewinddir(dir);
  while (::readdir(dir) != nullptr) ++second;
  ASSERT_GE(middle, 0);
  ::seekdir(dir, middle);
  const dirent* resumed = ::readdir(dir);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(at_middle, resumed->d_name);
  ::closedir(dir);
  EXPECT_EQ(first, 3002u);
  EXPECT_EQ(second, first);
}

TEST(MirrorScale, DeepTreesWork) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  std::string path = mount.view();
  for (int depth = 0; depth < 200; ++depth) {
    path += "/d" + std::to_string(depth);
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << depth;
  }
  WriteFile(path + "/leaf", "deep");
  std::string origin = mount.origin();
  for (int depth = 0; depth < 200; ++depth) origin += "/d" + std::to_string(depth);
  EXPECT_EQ(ReadFile(origin + "/leaf"), "deep");
  EXPECT_EQ(ReadFile(path + "/leaf"), "deep");
}

}  // namespace
}  // namespace wtcachefs::testing
