// SPDX-License-Identifier: Apache-2.0
// What a change of data through the engine does beside its bytes: a caller
// other than root loses the setuid and setgid bits as on a local file system,
// once, inside the change (the file keeps its cache), and the listener hears of
// it; a fault in an origin call other than a read or write (truncate,
// fallocate, copy_file_range, stat) reaches the caller and leaves the cache as
// it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <utility>
#include <vector>

#include "support/engine_test_config.h"
#include "support/fault_injecting_backend.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::FaultInjectingBackend;
using testing::kRootCaller;
using testing::TempDir;
using testing::WriteFile;
using OriginCall = FaultInjectingBackend::OriginCall;

constexpr uint32_t kBlock = 64 * 1024;

ChangeCaller Unprivileged(bool in_file_group) {
  return ChangeCaller{1000, [in_file_group](gid_t) { return in_file_group; }};
}

class EngineDataChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = MakeUringBackend();
    if (!real.ok()) GTEST_SKIP() << real.status().message();
    real_ = std::move(real).value();
    faults_ = std::make_unique<FaultInjectingBackend>(*real_);
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 64);
    config.reset = true;
    auto engine = CacheEngine::Start(config, *faults_);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    engine_->set_privilege_drop_listener([this](uint64_t dev, uint64_t ino) {
      std::lock_guard lock(mutex_);
      told_.emplace_back(dev, ino);
    });
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }

  // A file of two blocks with `mode`, read once through the engine (cached).
  std::unique_ptr<OpenFile> CachedFileWithMode(const std::string& name, mode_t mode) {
    WriteFile(Origin(name), std::string(2 * kBlock, 'p'));
    EXPECT_EQ(::chmod(Origin(name).c_str(), mode), 0);
    auto file = testing::OpenThrough(*engine_, Origin(name));
    if (file) {
      EXPECT_EQ(testing::ReadThrough(*file, 0, 2 * kBlock).size(), 2 * kBlock);
    }
    return file;
  }

  mode_t ModeOf(const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::stat(Origin(name).c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::vector<std::pair<uint64_t, uint64_t>> Told() {
    std::lock_guard lock(mutex_);
    return told_;
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> real_;
  std::unique_ptr<FaultInjectingBackend> faults_;
  std::unique_ptr<CacheEngine> engine_;
  std::mutex mutex_;
  std::vector<std::pair<uint64_t, uint64_t>> told_;  // GUARDED_BY(mutex_)
};

TEST_F(EngineDataChangeTest, AWriteByRootKeepsThePrivilegeBits) {
  auto file = CachedFileWithMode("f", 06755);
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->Write(0, std::string_view("root"), kRootCaller).ok());
  EXPECT_EQ(ModeOf("f"), 06755u);
  EXPECT_TRUE(Told().empty());
}

TEST_F(EngineDataChangeTest, AWriteByAnotherCallerClearsThemOnceTellsTheListenerAndKeepsTheCache) {
  auto file = CachedFileWithMode("f", 06755);
  ASSERT_TRUE(file);
  const uint64_t promotions = engine_->stats().promotions;
  ASSERT_TRUE(file->Write(0, std::string_view("user"), Unprivileged(false)).ok());
  EXPECT_EQ(ModeOf("f"), 0755u);
  struct stat st {};
  ASSERT_EQ(::stat(Origin("f").c_str(), &st), 0);
  ASSERT_EQ(Told().size(), 1u);
  EXPECT_EQ(Told()[0], std::make_pair(static_cast<uint64_t>(st.st_dev),
                                      static_cast<uint64_t>(st.st_ino)));
  // The chmod was the engine's own change (DESIGN W6): the next open keeps
  // what is cached, and the kernel may keep its page cache.
  auto again = testing::OpenThrough(*engine_, Origin("f"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->page_cache_valid());
  const uint64_t hits = engine_->stats().read_hits;
  EXPECT_EQ(testing::ReadThrough(*again, kBlock, kBlock), std::string(kBlock, 'p'));
  EXPECT_EQ(engine_->stats().read_hits, hits + 1);
  EXPECT_EQ(engine_->stats().promotions, promotions);
  // Nothing left to clear: the listener is not told again.
  ASSERT_TRUE(file->Write(4, std::string_view("more"), Unprivileged(false)).ok());
  EXPECT_EQ(Told().size(), 1u);
}

TEST_F(EngineDataChangeTest, ASetgidFileThatIsNotGroupExecutableKeepsItsBitForAMemberOfItsGroup) {
  auto member = CachedFileWithMode("member", 02644);
  auto stranger = CachedFileWithMode("stranger", 02644);
  ASSERT_TRUE(member && stranger);
  ASSERT_TRUE(member->Write(0, std::string_view("x"), Unprivileged(true)).ok());
  ASSERT_TRUE(stranger->Write(0, std::string_view("x"), Unprivileged(false)).ok());
  EXPECT_EQ(ModeOf("member"), 02644u);
  EXPECT_EQ(ModeOf("stranger"), 0644u);
}

TEST_F(EngineDataChangeTest, TruncateAllocateAndCopyByAnotherCallerClearThemToo) {
  auto truncated = CachedFileWithMode("truncated", 04755);
  auto punched = CachedFileWithMode("punched", 04755);
  auto copied_to = CachedFileWithMode("copied_to", 04755);
  ASSERT_TRUE(truncated && punched && copied_to);
  ASSERT_TRUE(truncated->Truncate(kBlock, Unprivileged(false)).ok());
  ASSERT_TRUE(punched->Allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096,
                                Unprivileged(false))
                  .ok());
  auto copied = truncated->CopyTo(0, *copied_to, 0, 4096, 0, Unprivileged(false));
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  EXPECT_EQ(ModeOf("truncated"), 0755u);
  EXPECT_EQ(ModeOf("punched"), 0755u);
  EXPECT_EQ(ModeOf("copied_to"), 0755u);
  EXPECT_EQ(Told().size(), 3u);
}

TEST_F(EngineDataChangeTest, AWriteThatMustNotWaitIsDeclinedForACallerOtherThanRoot) {
  auto file = CachedFileWithMode("f", 06755);
  ASSERT_TRUE(file);
  bool ran = false;
  EXPECT_FALSE(file->WriteAsync(0, std::string_view("user"), Unprivileged(false),
                                [&](Result<size_t>) { ran = true; }));
  EXPECT_FALSE(ran);
  EXPECT_EQ(ModeOf("f"), 06755u) << "a declined write changed nothing";
}

TEST_F(EngineDataChangeTest, AFailedTruncateReachesTheCallerAndKeepsTheCachedBlocks) {
  auto file = CachedFileWithMode("f", 0644);
  ASSERT_TRUE(file);
  faults_->FailOriginCall(OriginCall::kTruncate, file->origin_fd(), EIO);
  const Status truncated = file->Truncate(0, kRootCaller);
  EXPECT_EQ(truncated.error(), EIO) << truncated.message();
  faults_->ClearFaults();
  struct stat st {};
  ASSERT_EQ(::stat(Origin("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 2 * kBlock);
  const uint64_t hits = engine_->stats().read_hits;
  EXPECT_EQ(testing::ReadThrough(*file, 0, 2 * kBlock), std::string(2 * kBlock, 'p'));
  EXPECT_EQ(engine_->stats().read_hits, hits + 1) << "the blocks were dropped";
}

TEST_F(EngineDataChangeTest, AFailedFallocateAndAFailedCopyReachTheCallerAndChangeNothing) {
  auto file = CachedFileWithMode("f", 0644);
  auto source = CachedFileWithMode("source", 0644);
  ASSERT_TRUE(file && source);
  faults_->FailOriginCall(OriginCall::kAllocate, file->origin_fd(), ENOSPC);
  faults_->FailOriginCall(OriginCall::kCopyRange, file->origin_fd(), EXDEV);
  EXPECT_EQ(file->Allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kBlock, kRootCaller)
                .error(),
            ENOSPC);
  auto copied = source->CopyTo(0, *file, 0, kBlock, 0, kRootCaller);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().error(), EXDEV);
  faults_->ClearFaults();
  EXPECT_EQ(testing::ReadThrough(*file, 0, 2 * kBlock), std::string(2 * kBlock, 'p'));
}

TEST_F(EngineDataChangeTest, AFailedStatOfOriginAtOpenFailsTheOpen) {
  WriteFile(Origin("f"), "data");
  UniqueFd fd(::open(Origin("f").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  faults_->FailOriginCall(OriginCall::kStat, fd.get(), ESTALE);
  auto opened = engine_->Open(std::move(fd));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().error(), ESTALE);
}

}  // namespace
}  // namespace wtcachefs
