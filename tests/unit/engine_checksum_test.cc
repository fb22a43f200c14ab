// SPDX-License-Identifier: Apache-2.0
// DESIGN W6, last sentence: a cached block is served only after its checksum
// matches. The slot file is damaged behind the engine's back (single sectors,
// whole blocks, the padding of a file's last sector, while running and while
// stopped); every read still returns origin's bytes, the damaged block is
// counted in corrupt_blocks and dropped, and the next read misses and promotes
// it again, after which it hits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "support/engine_test_config.h"
#include "support/temp_dir.h"
#include "wtcachefs/cache_engine.h"

namespace wtcachefs {
namespace {

using testing::kRootCaller;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr uint32_t kBlock = 16 * 1024;
constexpr uint32_t kSector = 4096;

class EngineChecksumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = MakeUringBackend();
    if (!io.ok()) GTEST_SKIP() << io.status().message();
    io_ = std::move(io).value();
    engine_ = Start(/*reset=*/true);
    ASSERT_TRUE(engine_);
  }

  std::unique_ptr<CacheEngine> Start(bool reset) {
    CacheConfig config = testing::EngineTestConfig(dir_, kBlock, 64);
    config.reset = reset;
    config.sequential_cutoff = 0;
    auto engine = CacheEngine::Start(config, *io_);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::string Origin(const std::string& name) { return dir_.Sub("origin") + "/" + name; }
  std::string Slots() { return dir_.Sub("cache") + "/slots"; }

  std::unique_ptr<OpenFile> Open(const std::string& name) {
    return testing::OpenThrough(*engine_, Origin(name));
  }

  static std::string Read(OpenFile& file, off_t offset, size_t length) {
    return testing::ReadThrough(file, offset, length);
  }

  // Distinct bytes everywhere, so that a sector is found in the slot file by its
  // content.
  static std::string Pattern(size_t length, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(length, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }

  // The offset in the slot file of the sector holding `sector_bytes` (its first
  // 4 KiB, or fewer at a file's end); fails the test when it is not there.
  off_t FindInSlots(const std::string& sector_bytes) {
    const std::string slots = ReadFile(Slots());
    const size_t at = slots.find(sector_bytes);
    EXPECT_NE(at, std::string::npos) << "the sector is not in the slot file";
    EXPECT_EQ(at % kSector, 0u);
    return at == std::string::npos ? -1 : static_cast<off_t>(at);
  }

  void Damage(off_t offset, const std::string& bytes) { testing::OverwriteAt(Slots(), offset, bytes); }

  // Flips one byte in the middle of the slot file's copy of `sector_bytes`.
  void FlipByteOf(const std::string& sector_bytes) {
    const off_t at = FindInSlots(sector_bytes);
    Damage(at + 1000, std::string(1, static_cast<char>(~sector_bytes[1000])));
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> io_;
  std::unique_ptr<CacheEngine> engine_;
};

TEST_F(EngineChecksumTest, AFlippedByteInOneSectorIsServedFromOriginCountedAndDropped) {
  const std::string data = Pattern(4 * kBlock, 1);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);  // promotes the 4 blocks
  ASSERT_EQ(engine_->stats().used_blocks, 4u);
  FlipByteOf(data.substr(kBlock + 2 * kSector, kSector));  // block 1, sector 2

  const EngineStats before = engine_->stats();
  EXPECT_EQ(Read(*file, 0, data.size()), data) << "a corrupt sector was served";
  EngineStats stats = engine_->stats();
  EXPECT_EQ(stats.corrupt_blocks, 1u);
  EXPECT_EQ(stats.read_hits, before.read_hits) << "a read served partly by origin counted as a hit";
  EXPECT_EQ(stats.read_partial_hits, before.read_partial_hits + 1);
  EXPECT_EQ(stats.used_blocks, 3u) << "the corrupt block stays mapped";

  // The next read misses on that block and promotes it again; then it hits.
  const uint64_t promotions = stats.promotions;
  EXPECT_EQ(Read(*file, kBlock, kBlock), data.substr(kBlock, kBlock));
  stats = engine_->stats();
  EXPECT_EQ(stats.promotions, promotions + 1);
  EXPECT_EQ(stats.used_blocks, 4u);
  const uint64_t hits = stats.read_hits;
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  stats = engine_->stats();
  EXPECT_EQ(stats.read_hits, hits + 1);
  EXPECT_EQ(stats.corrupt_blocks, 1u);
}

TEST_F(EngineChecksumTest, AZeroedWholeBlockIsServedFromOriginCountedAndDropped) {
  const std::string data = Pattern(4 * kBlock, 2);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  Damage(FindInSlots(data.substr(2 * kBlock, kSector)), std::string(kBlock, '\0'));

  EXPECT_EQ(Read(*file, 2 * kBlock, kBlock), data.substr(2 * kBlock, kBlock));
  EXPECT_EQ(engine_->stats().corrupt_blocks, 1u);
  EXPECT_EQ(engine_->stats().used_blocks, 3u);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 1u);
}

// DESIGN W3: a cache device returning wrong bytes is failing like one returning
// errors. Corrupt blocks count toward the error limit (8 in quick succession
// by default, decaying with time): past it the engine serves from origin only,
// still correctly.
TEST_F(EngineChecksumTest, RepeatedCorruptionDegradesToOriginOnly) {
  constexpr int kBlocks = 10;
  const std::string data = Pattern(kBlocks * kBlock, 12);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  for (int b = 0; b < kBlocks; ++b) {
    Damage(FindInSlots(data.substr(b * kBlock, kSector)), std::string(kBlock, '\0'));
  }
  EXPECT_FALSE(engine_->stats().degraded);
  EXPECT_EQ(Read(*file, 0, data.size()), data) << "a corrupt block was served";
  EXPECT_EQ(engine_->stats().corrupt_blocks, static_cast<uint64_t>(kBlocks));
  EXPECT_TRUE(engine_->stats().degraded) << "ten corrupt blocks in a row did not degrade";
  EXPECT_EQ(Read(*file, 0, data.size()), data);
}

TEST_F(EngineChecksumTest, ReadsNotAlignedToSectorsAreVerifiedToo) {
  const std::string data = Pattern(2 * kBlock, 3);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  FlipByteOf(data.substr(kSector, kSector));  // block 0, sector 1, at byte 1000
  // 100 bytes that do not include the flipped one, inside the damaged sector.
  EXPECT_EQ(Read(*file, kSector + 10, 100), data.substr(kSector + 10, 100));
  EXPECT_EQ(engine_->stats().corrupt_blocks, 1u);
  EXPECT_EQ(Read(*file, kSector + 900, 200), data.substr(kSector + 900, 200));
}

TEST_F(EngineChecksumTest, DamagedPaddingPastTheEndOfAFileIsCaught) {
  // The file ends 100 bytes into a sector; its slot holds the sector zero-padded.
  const std::string data = Pattern(kBlock + kSector + 100, 4);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  const off_t last_sector = FindInSlots(data.substr(kBlock + kSector));
  Damage(last_sector + 2000, "garbage past the end of the file");
  EXPECT_EQ(Read(*file, 0, data.size() + 10), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 1u);
  // Grown behind nothing: the engine extends origin; the tail reads as zeros.
  ASSERT_TRUE(file->Truncate(static_cast<off_t>(data.size() + 3000), kRootCaller).ok());
  EXPECT_EQ(Read(*file, 0, data.size() + 3000), data + std::string(3000, '\0'));
}

TEST_F(EngineChecksumTest, DamageAfterTheLastUsedSlotServesNothingWrong) {
  const std::string data = Pattern(3 * kBlock, 5);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  // The slot file's tail: the last slots, unused so far, are scribbled over.
  struct stat st;
  ASSERT_EQ(::stat(Slots().c_str(), &st), 0);
  Damage(st.st_size - 8 * kBlock, Pattern(8 * kBlock, 6));
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);
  // Blocks promoted into those slots get their own data and checksums.
  const std::string more = Pattern(40 * kBlock, 7);
  WriteFile(Origin("g"), more);
  auto other = Open("g");
  EXPECT_EQ(Read(*other, 0, more.size()), more);
  EXPECT_EQ(Read(*other, 0, more.size()), more);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);
}

TEST_F(EngineChecksumTest, WrittenBlocksAreVerifiedAndAPartlyWrittenSectorIsNotServedStale) {
  WriteFile(Origin("f"), "");
  auto file = Open("f");
  const std::string data = Pattern(2 * kBlock, 8);
  auto n = file->Write(0, std::span<const char>(data.data(), data.size()), kRootCaller);  // write-allocate
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(engine_->stats().used_blocks, 2u);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  // A write covering part of a sector: that sector is re-read from origin.
  const std::string patch = "a partial sector update";
  n = file->Write(kSector + 7, std::span<const char>(patch.data(), patch.size()), kRootCaller);
  ASSERT_TRUE(n.ok());
  std::string expected = data;
  expected.replace(kSector + 7, patch.size(), patch);
  EXPECT_EQ(Read(*file, 0, expected.size()), expected);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);

  FlipByteOf(expected.substr(kBlock + kSector, kSector));
  EXPECT_EQ(Read(*file, 0, expected.size()), expected);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 1u);
}

TEST_F(EngineChecksumTest, DamageWhileStoppedIsCaughtAfterARestartAndTheCountPersists) {
  const std::string data = Pattern(4 * kBlock, 9);
  WriteFile(Origin("f"), data);
  {
    auto file = Open("f");
    ASSERT_EQ(Read(*file, 0, data.size()), data);
  }
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  FlipByteOf(data.substr(0, kSector));
  Damage(FindInSlots(data.substr(3 * kBlock, kSector)), std::string(kBlock, '\0'));

  engine_ = Start(/*reset=*/false);
  ASSERT_TRUE(engine_);
  ASSERT_EQ(engine_->stats().used_blocks, 4u) << "the restart came back cold";
  auto file = Open("f");
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 2u);
  EXPECT_EQ(engine_->stats().used_blocks, 2u);
  ASSERT_TRUE(engine_->Close().ok());
  file.reset();
  engine_.reset();
  engine_ = Start(/*reset=*/false);
  ASSERT_TRUE(engine_);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 2u) << "the counter is not persisted";
}

TEST_F(EngineChecksumTest, CorruptionIsLoggedOncePerFile) {
  std::vector<std::string> messages;
  std::mutex mutex;
  engine_->set_corruption_listener([&](const std::string& message) {
    std::lock_guard lock(mutex);
    messages.push_back(message);
  });
  const std::string data = Pattern(4 * kBlock, 10);
  WriteFile(Origin("f"), data);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, data.size()), data);
  FlipByteOf(data.substr(0, kSector));
  FlipByteOf(data.substr(2 * kBlock, kSector));
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().corrupt_blocks, 2u);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find(Origin("f")), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("checksum"), std::string::npos) << messages[0];
}

TEST_F(EngineChecksumTest, ACacheWithoutChecksumsComesBackColdAndServesOrigin) {
  const std::string data = Pattern(4 * kBlock, 11);
  WriteFile(Origin("f"), data);
  {
    auto file = Open("f");
    ASSERT_EQ(Read(*file, 0, data.size()), data);
  }
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  // As a cache made before checksums were kept: no checksum file.
  ASSERT_EQ(::unlink((dir_.Sub("cache") + "/checksums").c_str()), 0);
  FlipByteOf(data.substr(0, kSector));
  engine_ = Start(/*reset=*/false);
  ASSERT_TRUE(engine_);
  EXPECT_EQ(engine_->stats().used_blocks, 0u) << "unverifiable blocks were kept";
  bool warned = false;
  for (const std::string& w : engine_->warnings()) {
    warned |= w.find("checksum file") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  auto file = Open("f");
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(Read(*file, 0, data.size()), data);
  EXPECT_EQ(engine_->stats().used_blocks, 4u);
}

TEST_F(EngineChecksumTest, ChecksumFileIsReadableByItsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(::stat((dir_.Sub("cache") + "/checksums").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(64 * (kBlock / kSector) * 4));
}

// Reads racing writes to the same blocks may see a block change under them;
// that is not corruption and must not be counted as such.
TEST_F(EngineChecksumTest, ReadsRacingWritesAreNeverCountedAsCorruption) {
  const std::string initial = Pattern(4 * kBlock, 12);
  WriteFile(Origin("f"), initial);
  auto file = Open("f");
  ASSERT_EQ(Read(*file, 0, initial.size()), initial);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (unsigned i = 0; !stop; ++i) {
      const std::string data(2 * kBlock, static_cast<char>('a' + i % 26));
      auto n = file->Write(static_cast<off_t>((i % 3) * kBlock),
                           std::span<const char>(data.data(), data.size()), kRootCaller);
      EXPECT_TRUE(n.ok());
    }
  });
  for (int i = 0; i < 2000; ++i) {
    std::string out(4 * kBlock, '\0');
    EXPECT_TRUE(file->Read(0, out).ok());
  }
  stop = true;
  writer.join();
  EXPECT_EQ(engine_->stats().corrupt_blocks, 0u);
  EXPECT_EQ(Read(*file, 0, 4 * kBlock), ReadFile(Origin("f")));
}

}  // namespace
}  // namespace wtcachefs
