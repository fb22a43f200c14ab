// SPDX-License-Identifier: Apache-2.0
// Inode numbers through the view, where ORIGIN spans several file systems
// (btrfs subvolumes and snapshots, a tmpfs mounted inside ORIGIN): every FUSE
// file shares the view's one st_dev, so two origin objects must never show the
// same st_ino there, or find reports a loop, du skips files and tar stores one
// file as a hard link to another (a backup that restores the wrong bytes).
// Hard links still share one number, numbers survive a remount, and on a single
// file system the view shows origin's own numbers.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fuse/view_inode_numbers.h"
#include "support/child_process.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

using std::chrono::seconds;

// A fresh btrfs on a loop device over a sparse image file, mounted at `dir`;
// unmounted and detached on destruction.
class LoopBtrfs {
 public:
  LoopBtrfs(const std::string& image, const std::string& dir) : dir_(dir) {
    if (RunCommand({"truncate", "-s", "256M", image}).exit_code != 0) {
      skip_reason_ = "cannot create " + image;
      return;
    }
    const CommandResult mkfs = RunCommand({"mkfs.btrfs", "-f", "-q", image});
    if (mkfs.exit_code != 0) {
      skip_reason_ = "mkfs.btrfs failed: " + mkfs.err;
      return;
    }
    loop_ = std::make_unique<LoopDevice>(image);
    if (!loop_->ok()) {
      skip_reason_ = "no loop device: " + loop_->failure();
      loop_.reset();
      return;
    }
    if (::mount(loop_->path().c_str(), dir_.c_str(), "btrfs", 0, nullptr) != 0) {
      skip_reason_ = "cannot mount btrfs (no btrfs module?): " + std::string(strerror(errno));
      return;
    }
    mounted_ = true;
  }
  ~LoopBtrfs() {
    if (mounted_ && ::umount(dir_.c_str()) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
    // loop_ detaches the device once nothing uses it.
  }
  LoopBtrfs(const LoopBtrfs&) = delete;
  LoopBtrfs& operator=(const LoopBtrfs&) = delete;
  // Empty when mounted.
  const std::string& skip_reason() const { return skip_reason_; }

 private:
  std::string dir_;
  std::unique_ptr<LoopDevice> loop_;
  bool mounted_ = false;
  std::string skip_reason_;
};

struct Object {
  dev_t dev;
  ino_t ino;
  nlink_t nlink;
};

// Every object below `root` by path relative to it ("." for `root`), found by a
// walk of our own (readdir and lstat, no loop detection of its own to hide
// anything).
void WalkInto(const std::string& root, const std::string& rel, std::map<std::string, Object>& out) {
  const std::string path = rel == "." ? root : root + "/" + rel;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "lstat " << path << ": " << strerror(errno);
    return;
  }
  out[rel] = Object{st.st_dev, st.st_ino, st.st_nlink};
  if (!S_ISDIR(st.st_mode)) return;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    ADD_FAILURE() << "opendir " << path << ": " << strerror(errno);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : names) WalkInto(root, rel == "." ? name : rel + "/" + name, out);
}

std::map<std::string, Object> Walk(const std::string& root) {
  std::map<std::string, Object> objects;
  WalkInto(root, ".", objects);
  return objects;
}

std::map<std::string, ino_t> InodeNumbers(const std::string& root) {
  std::map<std::string, ino_t> numbers;
  for (const auto& [rel, object] : Walk(root)) numbers[rel] = object.ino;
  return numbers;
}

std::string Join(const std::vector<std::string>& paths) {
  std::string joined;
  for (const std::string& path : paths) joined += (joined.empty() ? "" : ", ") + path;
  return joined;
}

// Two paths share a number in the view exactly when they are one origin object
// (hard links): distinct objects, on whatever origin file system, never do.
void ExpectViewNumbersMatchOriginObjects(const std::string& origin, const std::string& view) {
  const std::map<std::string, Object> in_origin = Walk(origin);
  const std::map<std::string, Object> in_view = Walk(view);
  ASSERT_EQ(in_origin.size(), in_view.size());
  std::map<std::pair<dev_t, ino_t>, std::set<ino_t>> view_numbers_of_object;
  std::map<ino_t, std::set<std::pair<dev_t, ino_t>>> objects_of_view_number;
  std::map<ino_t, std::vector<std::string>> paths_of_view_number;
  for (const auto& [rel, object] : in_origin) {
    const auto seen = in_view.find(rel);
    ASSERT_NE(seen, in_view.end()) << rel << " is missing in the view";
    view_numbers_of_object[{object.dev, object.ino}].insert(seen->second.ino);
    objects_of_view_number[seen->second.ino].insert({object.dev, object.ino});
    paths_of_view_number[seen->second.ino].push_back(rel);
    EXPECT_EQ(seen->second.nlink, object.nlink) << rel;
  }
  for (const auto& [number, objects] : objects_of_view_number) {
    EXPECT_EQ(objects.size(), 1u) << "view inode number " << number << " is shared by "
                                  << objects.size() << " distinct origin objects: "
                                  << Join(paths_of_view_number[number]);
  }
  for (const auto& [object, numbers] : view_numbers_of_object) {
    EXPECT_EQ(numbers.size(), 1u) << "origin object (dev " << object.first << ", ino "
                                  << object.second << ") shows " << numbers.size()
                                  << " numbers in the view";
  }
}

// `find DIR -printf '%P\n'`, sorted; a failure or a loop warning fails the test.
std::vector<std::string> FindListing(const std::string& dir) {
  const CommandResult r = RunCommand({"find", dir, "-printf", "%P\\n"}, seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "find " << dir << ": " << r.err;
  EXPECT_EQ(r.err.find("File system loop detected"), std::string::npos) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// `du -s --apparent-size -B1 DIR`: the bytes of every object counted once.
std::string DiskUsage(const std::string& dir) {
  const CommandResult r = RunCommand({"du", "-s", "--apparent-size", "-B1", dir}, seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "du " << dir << ": " << r.err;
  return r.out.substr(0, r.out.find('\t'));
}

// find, du and a tar backup of the view see what they see of the origin: the
// same entries, the same size, and a restored copy with the origin's bytes and
// its hard links (the pair `link_a`, `link_b`).
void ExpectToolsSeeOrigin(const std::string& origin, const std::string& view,
                          const std::string& scratch, const std::string& link_a,
                          const std::string& link_b) {
  EXPECT_EQ(FindListing(view), FindListing(origin));
  EXPECT_EQ(DiskUsage(view), DiskUsage(origin));

  const std::string archive = scratch + "/view.tar";
  const std::string restored = scratch + "/restored";
  ASSERT_EQ(::mkdir(restored.c_str(), 0755), 0);
  const CommandResult tar = RunCommand({"tar", "-C", view, "-cf", archive, "."}, seconds(120));
  EXPECT_EQ(tar.exit_code, 0) << tar.err;
  const CommandResult untar = RunCommand({"tar", "-C", restored, "-xf", archive}, seconds(120));
  ASSERT_EQ(untar.exit_code, 0) << untar.err;
  const CommandResult diff =
      RunCommand({"diff", "-r", "--no-dereference", origin, restored}, seconds(120));
  EXPECT_EQ(diff.exit_code, 0) << "the copy restored from a tar of the view differs from "
                                  "origin:\n"
                               << diff.out << diff.err;
  struct stat a, b;
  ASSERT_EQ(::lstat((restored + "/" + link_a).c_str(), &a), 0);
  ASSERT_EQ(::lstat((restored + "/" + link_b).c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "the hard link " << link_a << " = " << link_b
                                << " was not restored as one";
}

// The numbers after a remount are those before it, whatever file system the
// remounted view meets first: `first_seen` are stat'ed before the walk.
void ExpectNumbersSurviveRemount(MountedView& view, const std::vector<std::string>& first_seen) {
  const std::map<std::string, ino_t> before = InodeNumbers(view.view());
  ASSERT_TRUE(view.Unmount());
  ASSERT_TRUE(view.Remount()) << view.failure();
  struct stat st;
  for (const std::string& rel : first_seen) {
    ASSERT_EQ(::lstat((view.view() + "/" + rel).c_str(), &st), 0) << rel;
  }
  EXPECT_EQ(InodeNumbers(view.view()), before);
}

ino_t ViewIno(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// ORIGIN is a btrfs with subvolumes `sub` and `sub2` (each numbers its inodes
// afresh, from 256) and a snapshot `snap` of `sub` (the same numbers as `sub`,
// another st_dev).
class BtrfsOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    btrfs_ = std::make_unique<LoopBtrfs>(dir_.Sub("btrfs.img", false), origin_);
    if (!btrfs_->skip_reason().empty()) GTEST_SKIP() << btrfs_->skip_reason();
    for (const char* subvolume : {"sub", "sub2"}) {
      const CommandResult r = RunCommand({"btrfs", "subvolume", "create", O(subvolume)});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    WriteFile(O("top.txt"), "a file on the top-level subvolume\n");
    ASSERT_EQ(::mkdir(O("dir").c_str(), 0755), 0);
    WriteFile(O("dir/plain"), "plain\n");
    // The first file of each subvolume: the same inode number in both. Each has
    // a second name: tar takes files with more than one link and one number
    // for one file.
    WriteFile(O("sub/a"), Pattern(3 << 20, 1));
    ASSERT_EQ(::link(O("sub/a").c_str(), O("sub/a.link").c_str()), 0);
    WriteFile(O("sub2/b"), Pattern(2 << 20, 2));
    ASSERT_EQ(::link(O("sub2/b").c_str(), O("sub2/b.link").c_str()), 0);
    ASSERT_EQ(::mkdir(O("sub/d").c_str(), 0755), 0);
    WriteFile(O("sub/d/c"), Pattern(1 << 20, 3));
    WriteFile(O("sub/link1"), "one object, two names\n");
    ASSERT_EQ(::link(O("sub/link1").c_str(), O("sub/link2").c_str()), 0);
    WriteFile(O("sub2/other"), "sub2's own\n");
    const CommandResult snapshot =
        RunCommand({"btrfs", "subvolume", "snapshot", O("sub"), O("snap")});
    ASSERT_EQ(snapshot.exit_code, 0) << snapshot.err;
    // The snapshot's copies now differ (written in place: their links stay).
    WriteFile(O("snap/a"), Pattern(3 << 20, 4));
    WriteFile(O("snap/link1"), "the snapshot's own\n");
    view_ = std::make_unique<MountedView>(ExistingOrigin{origin_}, std::vector<std::string>{});
    ASSERT_TRUE(view_->ok()) << view_->failure();
  }
  void TearDown() override {
    view_.reset();   // the view first: the daemon holds the btrfs open
    btrfs_.reset();  // then the btrfs and its loop device
  }

  std::string O(const std::string& rel) const { return origin_ + "/" + rel; }
  std::string V(const std::string& rel) const { return view_->view() + "/" + rel; }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::unique_ptr<LoopBtrfs> btrfs_;
  std::unique_ptr<MountedView> view_;
};

TEST_F(BtrfsOriginTest, DistinctObjectsOnSubvolumesAndSnapshotsShowDistinctNumbers) {
  ExpectViewNumbersMatchOriginObjects(origin_, view_->view());
  EXPECT_NE(ViewIno(V("sub/a")), ViewIno(V("sub2/b")));
  EXPECT_NE(ViewIno(V("sub/a")), ViewIno(V("snap/a")));
  EXPECT_EQ(ViewIno(V("sub/link1")), ViewIno(V("sub/link2")));
  EXPECT_EQ(ViewIno(V("snap/link1")), ViewIno(V("snap/link2")));
  const ino_t root = ViewIno(view_->view());
  for (const char* subvolume : {"sub", "sub2", "snap"}) {
    EXPECT_NE(ViewIno(V(subvolume)), root) << subvolume << " shows the view root's number";
  }
  // The top-level subvolume keeps origin's numbers; the others are numbered by
  // the device table the cache keeps, not hashed.
  EXPECT_EQ(root, ViewIno(origin_));
  EXPECT_EQ(ViewIno(V("top.txt")), ViewIno(O("top.txt")));
  for (const char* path : {"sub", "sub/a", "sub2/b", "snap/a"}) {
    EXPECT_FALSE(IsHashedViewInodeNumber(ViewIno(V(path)))) << path;
  }
  EXPECT_EQ(view_->DaemonLog().find("hashed"), std::string::npos) << view_->DaemonLog();
}

TEST_F(BtrfsOriginTest, FindDuAndTarOfTheViewSeeEveryFileOnce) {
  ExpectToolsSeeOrigin(origin_, view_->view(), dir_.Sub("scratch"), "sub/link1", "sub/link2");
}

TEST_F(BtrfsOriginTest, NumbersAreTheSameAfterARemount) {
  ExpectNumbersSurviveRemount(*view_, {"snap/a", "sub2/b", "sub/d/c"});
}

// ORIGIN is a tmpfs with another tmpfs mounted at ORIGIN/inner: both number
// their inodes from 1, so without care the view root and `inner` would be one
// directory to find, and inner's files the outer ones' hard links.
class MountInsideOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    outer_ = std::make_unique<TmpfsMount>(origin_, "size=32M");
    if (!outer_->ok()) GTEST_SKIP() << "cannot mount a tmpfs (needs root)";
    WriteFile(O("f1"), Pattern(1 << 20, 5));
    ASSERT_EQ(::mkdir(O("d").c_str(), 0755), 0);
    WriteFile(O("d/f2"), Pattern(512 << 10, 6));
    WriteFile(O("link1"), "outer link\n");
    ASSERT_EQ(::link(O("link1").c_str(), O("link2").c_str()), 0);
    ASSERT_EQ(::mkdir(O("inner").c_str(), 0755), 0);
    inner_ = std::make_unique<TmpfsMount>(O("inner"), "size=16M");
    ASSERT_TRUE(inner_->ok());
    WriteFile(O("inner/g1"), Pattern(2 << 20, 7));
    ASSERT_EQ(::mkdir(O("inner/e").c_str(), 0755), 0);
    WriteFile(O("inner/e/g2"), Pattern(768 << 10, 8));
    WriteFile(O("inner/hl1"), "inner link\n");
    ASSERT_EQ(::link(O("inner/hl1").c_str(), O("inner/hl2").c_str()), 0);
    view_ = std::make_unique<MountedView>(ExistingOrigin{origin_}, std::vector<std::string>{});
    ASSERT_TRUE(view_->ok()) << view_->failure();
  }
  void TearDown() override {
    view_.reset();
    inner_.reset();
    outer_.reset();
  }

  std::string O(const std::string& rel) const { return origin_ + "/" + rel; }
  std::string V(const std::string& rel) const { return view_->view() + "/" + rel; }

  TempDir dir_;
  std::string origin_ = dir_.Sub("origin");
  std::unique_ptr<TmpfsMount> outer_;
  std::unique_ptr<TmpfsMount> inner_;
  std::unique_ptr<MountedView> view_;
};

TEST_F(MountInsideOriginTest, ObjectsOfTheInnerFileSystemShowNumbersOfTheirOwn) {
  ExpectViewNumbersMatchOriginObjects(origin_, view_->view());
  EXPECT_NE(ViewIno(V("inner")), ViewIno(view_->view()));
  EXPECT_EQ(ViewIno(V("inner/hl1")), ViewIno(V("inner/hl2")));
  EXPECT_EQ(ViewIno(V("link1")), ViewIno(V("link2")));
  EXPECT_NE(ViewIno(V("inner/hl1")), ViewIno(V("link1")));
}

TEST_F(MountInsideOriginTest, FindDuAndTarOfTheViewSeeEveryFileOnce) {
  ExpectToolsSeeOrigin(origin_, view_->view(), dir_.Sub("scratch"), "inner/hl1", "inner/hl2");
}

TEST_F(MountInsideOriginTest, NumbersAreTheSameAfterARemount) {
  ExpectNumbersSurviveRemount(*view_, {"inner/e/g2", "d/f2"});
}

// On one file system the view shows origin's own numbers, in stat and readdir.
TEST(SingleFileSystemOriginTest, ViewShowsOriginsOwnInodeNumbers) {
  TempDir dir;
  const std::string origin = dir.Sub("origin");
  WriteFile(origin + "/file", "data\n");
  ASSERT_EQ(::mkdir((origin + "/dir").c_str(), 0755), 0);
  WriteFile(origin + "/dir/nested", "nested\n");
  ASSERT_EQ(::symlink("file", (origin + "/symlink").c_str()), 0);
  ASSERT_EQ(::link((origin + "/file").c_str(), (origin + "/hardlink").c_str()), 0);
  MountedView view(ExistingOrigin{origin}, {});
  ASSERT_TRUE(view.ok()) << view.failure();

  EXPECT_EQ(InodeNumbers(view.view()), InodeNumbers(origin));
  // readdir's d_ino too.
  auto listed = [](const std::string& path) {
    std::map<std::string, ino_t> numbers;
    DIR* dir_stream = ::opendir(path.c_str());
    EXPECT_NE(dir_stream, nullptr) << path;
    if (dir_stream == nullptr) return numbers;
    while (const dirent* entry = ::readdir(dir_stream)) {
      if (std::string(entry->d_name) != "..") numbers[entry->d_name] = entry->d_ino;
    }
    ::closedir(dir_stream);
    return numbers;
  };
  EXPECT_EQ(listed(view.view()), listed(origin));
  EXPECT_EQ(listed(view.view() + "/dir"), listed(origin + "/dir"));
}

}  // namespace
}  // namespace wtcachefs::testing
