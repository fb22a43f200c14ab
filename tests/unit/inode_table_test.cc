// SPDX-License-Identifier: Apache-2.0
// The inode table closes the descriptors of idle inodes past its budget and
// reopens them: by handle where origin has file handles, by parent and name
// elsewhere. It answers ESTALE for an object that is gone or whose path leads
// elsewhere, and never lets a reused inode number reach the old entry.
#include "fuse/inode_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "support/temp_dir.h"

namespace wtcachefs {
namespace {

using testing::TempDir;
using testing::WriteFile;

class InodeTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UniqueFd root(::open(dir_.path().c_str(), O_PATH | O_CLOEXEC));
    ASSERT_TRUE(root.valid());
    ASSERT_EQ(::fstat(root.get(), &root_stat_), 0);
    // Reopening by handle needs a file system that keeps handles and
    // CAP_DAC_READ_SEARCH; elsewhere every descriptor stays open by design.
    if (!OriginHandle::Of(root.get())) GTEST_SKIP() << dir_.path() << " keeps no file handles";
    UniqueFd probe_dir(::open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int error = 0;
    if (!OriginHandle::Of(root.get())->Reopen(probe_dir.get(), &error).valid()) {
      GTEST_SKIP() << "cannot reopen by handle here: " << std::strerror(error);
    }
    table_ = std::make_unique<InodeTable>(std::move(root), root_stat_, /*fd_budget=*/1);
  }

  // Looks `name` up as the file system does: an O_PATH fd and its stat.
  uint64_t Lookup(const std::string& name, struct stat* st_out = nullptr) {
    UniqueFd fd(::open((dir_.path() + "/" + name).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    EXPECT_TRUE(fd.valid()) << name;
    struct stat st;
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    if (st_out != nullptr) *st_out = st;
    return table_->AddLookup(InodeTable::kRootId, name, std::move(fd), st);
  }

  ino_t InoThrough(uint64_t id) {
    const InodeFd fd = table_->Open(id);
    EXPECT_EQ(fd.error(), 0);
    struct stat st;
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    return st.st_ino;
  }

  TempDir dir_;
  struct stat root_stat_;
  std::unique_ptr<InodeTable> table_;
};

TEST_F(InodeTableTest, IdleDescriptorsPastTheBudgetAreClosedAndReopenedByHandle) {
  WriteFile(dir_.path() + "/a", "a");
  WriteFile(dir_.path() + "/b", "b");
  struct stat a_stat, b_stat;
  const uint64_t a = Lookup("a", &a_stat);
  const uint64_t b = Lookup("b", &b_stat);
  EXPECT_EQ(table_->open_closable(), 1u);
  EXPECT_FALSE(table_->Get(a).fd.valid()) << "the least recently used one is closed";
  EXPECT_EQ(InoThrough(a), a_stat.st_ino);
  EXPECT_EQ(InoThrough(b), b_stat.st_ino);
  EXPECT_EQ(table_->open_closable(), 1u);
  {
    // An inode in use keeps its descriptor, whatever the budget.
    const InodeFd held_a = table_->Open(a);
    const InodeFd held_b = table_->Open(b);
    EXPECT_EQ(table_->open_closable(), 2u);
    EXPECT_EQ(held_a.error(), 0);
    EXPECT_EQ(held_b.error(), 0);
  }
  EXPECT_EQ(table_->open_closable(), 1u);
  table_->Forget(a, 1);
  table_->Forget(b, 1);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->open_closable(), 0u);
}

// A request replies before its fd lease ends; the kernel may forget the inode
// in between (ASan reports the use after free this guards against).
TEST_F(InodeTableTest, AnInodeForgottenWhileARequestHoldsItsFdLivesUntilTheLeaseEnds) {
  WriteFile(dir_.path() + "/a", "a");
  const uint64_t a = Lookup("a");
  {
    const InodeFd held = table_->Open(a);
    ASSERT_EQ(held.error(), 0);
    table_->Forget(a, 1);
    EXPECT_EQ(table_->size(), 1u);
    struct stat st;
    EXPECT_EQ(::fstat(held.get(), &st), 0) << "the fd stays open while leased";
  }
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->open_closable(), 0u);
}

TEST_F(InodeTableTest, AnObjectGoneWhileItsDescriptorWasClosedIsStale) {
  WriteFile(dir_.path() + "/gone", "x");
  WriteFile(dir_.path() + "/other", "y");
  const uint64_t gone = Lookup("gone");
  Lookup("other");  // closes `gone`'s descriptor
  ASSERT_FALSE(table_->Get(gone).fd.valid());
  ASSERT_EQ(::unlink((dir_.path() + "/gone").c_str()), 0);
  EXPECT_EQ(table_->Open(gone).error(), ESTALE);
}

TEST_F(InodeTableTest, AReusedInodeNumberGetsAnEntryOfItsOwn) {
  WriteFile(dir_.path() + "/old", "x");
  WriteFile(dir_.path() + "/other", "y");
  WriteFile(dir_.path() + "/new", "z");
  struct stat old_stat;
  const uint64_t old_id = Lookup("old", &old_stat);
  const uint64_t other = Lookup("other");
  ASSERT_FALSE(table_->Get(old_id).fd.valid());
  ASSERT_EQ(::unlink((dir_.path() + "/old").c_str()), 0);
  // The file system may hand the number to a new file; pretend it did.
  UniqueFd fd(::open((dir_.path() + "/new").c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat new_stat;
  ASSERT_EQ(::fstat(fd.get(), &new_stat), 0);
  const ino_t new_ino = new_stat.st_ino;
  new_stat.st_ino = old_stat.st_ino;
  const uint64_t new_id = table_->AddLookup(InodeTable::kRootId, "new", std::move(fd), new_stat);
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(table_->Open(old_id).error(), ESTALE);
  EXPECT_EQ(InoThrough(new_id), new_ino);
  // A further lookup of the new object finds its entry, not the old one.
  UniqueFd again(::open((dir_.path() + "/new").c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  EXPECT_EQ(table_->AddLookup(InodeTable::kRootId, "new", std::move(again), new_stat), new_id);
  table_->Forget(old_id, 1);
  table_->Forget(new_id, 2);
  table_->Forget(other, 1);
  EXPECT_EQ(table_->size(), 0u);
}

// Where origin keeps no lasting file handles (FUSE, overlay) or the daemon may
// not reopen by handle, entries are reopened by the parent and name they were
// last looked up by.
class InodeTableByPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UniqueFd root(::open(dir_.path().c_str(), O_PATH | O_CLOEXEC));
    ASSERT_TRUE(root.valid());
    struct stat root_stat;
    ASSERT_EQ(::fstat(root.get(), &root_stat), 0);
    table_ = std::make_unique<InodeTable>(std::move(root), root_stat, /*fd_budget=*/1,
                                          InodeTable::Handles::kNever);
  }

  // Looks `name` up in `parent` (whose origin path is `dir`) as the file system does.
  uint64_t Lookup(uint64_t parent, const std::string& dir, const std::string& name,
                  struct stat* st_out = nullptr) {
    UniqueFd fd(::open(Origin(dir + name).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    EXPECT_TRUE(fd.valid()) << dir + name;
    struct stat st;
    EXPECT_EQ(::fstat(fd.get(), &st), 0);
    if (st_out != nullptr) *st_out = st;
    return table_->AddLookup(parent, name, std::move(fd), st);
  }
  uint64_t Lookup(const std::string& name, struct stat* st_out = nullptr) {
    return Lookup(InodeTable::kRootId, "", name, st_out);
  }

  std::string Origin(const std::string& rel) const { return dir_.path() + "/" + rel; }

  ino_t InoThrough(uint64_t id) {
    const InodeFd fd = table_->Open(id);
    EXPECT_EQ(fd.error(), 0) << std::strerror(fd.error());
    struct stat st{};
    if (fd.error() == 0) {
      EXPECT_EQ(::fstat(fd.get(), &st), 0);
    }
    return st.st_ino;
  }

  TempDir dir_;
  std::unique_ptr<InodeTable> table_;
};

TEST_F(InodeTableByPathTest, IdleDescriptorsPastTheBudgetAreClosedAndReopenedThroughTheirParents) {
  ASSERT_EQ(::mkdir(Origin("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Origin("d/e").c_str(), 0755), 0);
  WriteFile(Origin("d/e/f"), "f");
  struct stat d_stat, e_stat, f_stat;
  const uint64_t d = Lookup("d", &d_stat);
  const uint64_t e = Lookup(d, "d/", "e", &e_stat);
  const uint64_t f = Lookup(e, "d/e/", "f", &f_stat);
  EXPECT_EQ(table_->open_closable(), 1u);
  EXPECT_FALSE(table_->Get(d).fd.valid());
  EXPECT_FALSE(table_->Get(e).fd.valid());
  {
    // Both closed ancestors are reopened on the way, and the leaf stays open
    // while in use, whatever the budget.
    const InodeFd held_f = table_->Open(f);
    ASSERT_EQ(held_f.error(), 0);
    const InodeFd held_e = table_->Open(e);
    ASSERT_EQ(held_e.error(), 0);
    EXPECT_EQ(table_->open_closable(), 2u);
  }
  EXPECT_EQ(InoThrough(f), f_stat.st_ino);
  EXPECT_EQ(InoThrough(e), e_stat.st_ino);
  EXPECT_EQ(InoThrough(d), d_stat.st_ino);
  EXPECT_EQ(table_->open_closable(), 1u);
  // A directory forgotten by the kernel lives while an entry below it may be
  // reopened through it.
  table_->Forget(d, 1);
  table_->Forget(e, 1);
  EXPECT_EQ(table_->size(), 3u);
  EXPECT_EQ(InoThrough(f), f_stat.st_ino);
  table_->Forget(f, 1);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->open_closable(), 0u);
}

TEST_F(InodeTableByPathTest, AnEntryRenamedThroughTheViewIsReopenedAtItsNewName) {
  ASSERT_EQ(::mkdir(Origin("d").c_str(), 0755), 0);
  WriteFile(Origin("a"), "a");
  struct stat a_stat;
  const uint64_t a = Lookup("a", &a_stat);
  const uint64_t d = Lookup("d");
  ASSERT_FALSE(table_->Get(a).fd.valid());
  ASSERT_EQ(::rename(Origin("a").c_str(), Origin("d/moved").c_str()), 0);
  table_->Renamed(InodeTable::kRootId, "a", d, "moved", /*exchanged=*/false);
  EXPECT_EQ(InoThrough(a), a_stat.st_ino);
  table_->Forget(a, 1);
  table_->Forget(d, 1);
  EXPECT_EQ(table_->size(), 0u);
}

TEST_F(InodeTableByPathTest, ExchangedEntriesAreReopenedAtEachOthersNames) {
  WriteFile(Origin("a"), "a");
  WriteFile(Origin("b"), "b");
  WriteFile(Origin("c"), "c");
  struct stat a_stat, b_stat;
  const uint64_t a = Lookup("a", &a_stat);
  const uint64_t b = Lookup("b", &b_stat);
  const uint64_t c = Lookup("c");
  ASSERT_FALSE(table_->Get(a).fd.valid());
  ASSERT_FALSE(table_->Get(b).fd.valid());
  ASSERT_EQ(::renameat2(AT_FDCWD, Origin("a").c_str(), AT_FDCWD, Origin("b").c_str(),
                        RENAME_EXCHANGE),
            0);
  table_->Renamed(InodeTable::kRootId, "a", InodeTable::kRootId, "b", /*exchanged=*/true);
  EXPECT_EQ(InoThrough(a), a_stat.st_ino);
  EXPECT_EQ(InoThrough(b), b_stat.st_ino);
  for (const uint64_t id : {a, b, c}) table_->Forget(id, 1);
  EXPECT_EQ(table_->size(), 0u);
}

TEST_F(InodeTableByPathTest, AnEntryWhoseNameIsRemovedThroughTheViewKeepsItsDescriptor) {
  WriteFile(Origin("a"), "a");
  WriteFile(Origin("b"), "b");
  WriteFile(Origin("c"), "c");
  struct stat a_stat;
  const uint64_t a = Lookup("a", &a_stat);
  const uint64_t b = Lookup("b");
  ASSERT_FALSE(table_->Get(a).fd.valid());
  {
    const InodeFd kept = table_->KeepOpen(InodeTable::kRootId, "a");
    ASSERT_EQ(kept.error(), 0);
    ASSERT_EQ(::unlink(Origin("a").c_str()), 0);
    table_->Removed(InodeTable::kRootId, "a");
  }
  const uint64_t c = Lookup("c");  // over budget again: `a` is not closed
  EXPECT_TRUE(table_->Get(a).fd.valid());
  EXPECT_EQ(InoThrough(a), a_stat.st_ino);
  for (const uint64_t id : {a, b, c}) table_->Forget(id, 1);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->open_closable(), 0u);
}

TEST_F(InodeTableByPathTest, AnEntryKeptOpenForARemovalThatFailsIsClosableAgain) {
  ASSERT_EQ(::mkdir(Origin("d").c_str(), 0755), 0);
  WriteFile(Origin("d/inside"), "x");
  WriteFile(Origin("b"), "b");
  struct stat d_stat;
  const uint64_t d = Lookup("d", &d_stat);
  const uint64_t b = Lookup("b");
  {
    const InodeFd kept = table_->KeepOpen(InodeTable::kRootId, "d");
    ASSERT_EQ(kept.error(), 0);
    EXPECT_TRUE(table_->Get(d).fd.valid());
    ASSERT_NE(::rmdir(Origin("d").c_str()), 0) << "not empty";
  }
  InoThrough(b);  // `d` is the least recently used again
  EXPECT_FALSE(table_->Get(d).fd.valid());
  EXPECT_EQ(InoThrough(d), d_stat.st_ino);
  table_->Forget(d, 1);
  table_->Forget(b, 1);
  EXPECT_EQ(table_->size(), 0u);
}

// A directory renamed behind the table's back is stale until a lookup finds it
// at its new name; the entries below it keep their own names meanwhile.
TEST_F(InodeTableByPathTest, EntriesBelowAStaleDirectoryWorkOnceItIsFoundAgain) {
  ASSERT_EQ(::mkdir(Origin("d").c_str(), 0755), 0);
  WriteFile(Origin("d/c"), "c");
  WriteFile(Origin("other"), "other");
  struct stat c_stat;
  const uint64_t d = Lookup("d");
  const uint64_t c = Lookup(d, "d/", "c", &c_stat);
  const uint64_t other = Lookup("other");
  ASSERT_FALSE(table_->Get(d).fd.valid());
  ASSERT_FALSE(table_->Get(c).fd.valid());
  ASSERT_EQ(::rename(Origin("d").c_str(), Origin("moved").c_str()), 0);
  EXPECT_EQ(table_->Open(c).error(), ESTALE);
  EXPECT_EQ(Lookup("moved"), d);
  EXPECT_EQ(InoThrough(c), c_stat.st_ino);
  table_->Forget(c, 1);
  table_->Forget(d, 2);
  table_->Forget(other, 1);
  EXPECT_EQ(table_->size(), 0u);
}

TEST_F(InodeTableByPathTest, AnEntryWhosePathLeadsElsewhereIsStale) {
  WriteFile(Origin("a"), "a");
  WriteFile(Origin("b"), "b");
  WriteFile(Origin("other"), "other");
  const uint64_t a = Lookup("a");
  const uint64_t b = Lookup("b");
  Lookup("other");
  ASSERT_FALSE(table_->Get(a).fd.valid());
  ASSERT_FALSE(table_->Get(b).fd.valid());
  // Behind the table's back: `a` is gone, and `b`'s name holds another file.
  ASSERT_EQ(::unlink(Origin("a").c_str()), 0);
  ASSERT_EQ(::rename(Origin("other").c_str(), Origin("b").c_str()), 0);
  EXPECT_EQ(table_->Open(a).error(), ESTALE);
  EXPECT_EQ(table_->Open(b).error(), ESTALE);
}

TEST_F(InodeTableByPathTest, AReusedInodeNumberOfAnotherTypeGetsAnEntryOfItsOwn) {
  WriteFile(Origin("old"), "x");
  WriteFile(Origin("other"), "y");
  ASSERT_EQ(::mkdir(Origin("new").c_str(), 0755), 0);
  struct stat old_stat;
  const uint64_t old_id = Lookup("old", &old_stat);
  const uint64_t other = Lookup("other");
  ASSERT_FALSE(table_->Get(old_id).fd.valid());
  ASSERT_EQ(::unlink(Origin("old").c_str()), 0);
  // The file system may hand the number to a new directory; pretend it did.
  UniqueFd fd(::open(Origin("new").c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat new_stat;
  ASSERT_EQ(::fstat(fd.get(), &new_stat), 0);
  new_stat.st_ino = old_stat.st_ino;
  const uint64_t new_id = table_->AddLookup(InodeTable::kRootId, "new", std::move(fd), new_stat);
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(table_->Open(old_id).error(), ESTALE);
  table_->Forget(old_id, 1);
  table_->Forget(new_id, 1);
  table_->Forget(other, 1);
  EXPECT_EQ(table_->size(), 0u);
}

}  // namespace
}  // namespace wtcachefs
