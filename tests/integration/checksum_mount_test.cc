// SPDX-License-Identifier: Apache-2.0
// Checksums on a real mount (DESIGN W6, last sentence): bytes of the slot file
// damaged under a live mount or while unmounted are never served through the
// view; status (--json, --prometheus) counts the damaged blocks, the daemon logs
// it once per file, and `wtcachefs check --verify-data` finds them and, with
// --repair, drops them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cli/exit_codes.h"
#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr size_t kBlock = 64 * 1024;  // the default block size
constexpr size_t kSector = 4096;
constexpr size_t kFileSize = 2 << 20;

CommandResult Check(const std::string& cache, std::vector<std::string> flags) {
  std::vector<std::string> argv = {WtcachefsBinary(), "check", cache};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCommand(argv, std::chrono::seconds(30));
}

// A counter from the "total" object of `wtcachefs status --json`.
uint64_t TotalCounter(const MountedView& mount, const std::string& name) {
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", mount.view(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const size_t total = r.out.find("\"total\":{");
  const size_t at = r.out.find("\"" + name + "\":", total);
  EXPECT_NE(at, std::string::npos) << r.out;
  if (total == std::string::npos || at == std::string::npos) return ~uint64_t{0};
  return std::strtoull(r.out.c_str() + at + name.size() + 3, nullptr, 10);
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ChecksumMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mount_.ok()) << mount_.failure();
    WriteFile(mount_.OriginPath("f"), data_);
    // O_DIRECT: every read reaches the daemon (no page cache of the view).
    ASSERT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);  // promotes
    ASSERT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);  // hits
    ASSERT_EQ(StatusCounter(mount_.view(), "used_blocks"), kFileSize / kBlock);
  }

  std::string Slots() { return mount_.cache() + "/slots"; }

  // The slot file offset of the sector of `data_` at `offset`.
  off_t SlotOffsetOf(size_t offset) {
    const std::string slots = ReadFile(Slots());
    const size_t at = slots.find(data_.substr(offset, kSector));
    EXPECT_NE(at, std::string::npos) << "the sector is not cached";
    return at == std::string::npos ? -1 : static_cast<off_t>(at);
  }

  void Damage(off_t offset, const std::string& bytes) { OverwriteAt(Slots(), offset, bytes); }

  // One flipped byte in sector 3 of block 5, and block 20 zeroed.
  void DamageTwoBlocks() {
    const size_t flipped = 5 * kBlock + 3 * kSector + 123;
    const off_t sector = SlotOffsetOf(5 * kBlock + 3 * kSector);
    Damage(sector + 123, std::string(1, static_cast<char>(~data_[flipped])));
    Damage(SlotOffsetOf(20 * kBlock), std::string(kBlock, '\0'));
  }

  const std::string data_ = Pattern(kFileSize, 77);
  MountedView mount_;
};

TEST_F(ChecksumMountTest, DamageUnderALiveMountIsServedFromOriginCountedAndLoggedOnce) {
  DamageTwoBlocks();
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_) << "damaged cache bytes were served";
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 2u);
  EXPECT_EQ(StatusCounter(mount_.view(), "used_blocks"), kFileSize / kBlock - 2);
  const CommandResult prometheus =
      RunCommand({WtcachefsBinary(), "status", mount_.view(), "--prometheus"});
  EXPECT_NE(prometheus.out.find("wtcachefs_corrupt_blocks_total{view=\"" + mount_.view() + "\"} 2"),
            std::string::npos)
      << prometheus.out;
  // Read again: promoted afresh, then served from the cache, and no new count.
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 2u);
  EXPECT_EQ(StatusCounter(mount_.view(), "used_blocks"), kFileSize / kBlock);
  EXPECT_EQ(ReadFile(mount_.ViewPath("f")), data_);
  EXPECT_EQ(Occurrences(mount_.DaemonLog(), "failed its checksum"), 1u) << mount_.DaemonLog();
}

TEST_F(ChecksumMountTest, DamageWhileUnmountedIsServedFromOriginAfterRemount) {
  ASSERT_TRUE(mount_.Unmount());
  DamageTwoBlocks();
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_) << "damaged cache bytes were served";
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 2u);
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  ASSERT_TRUE(mount_.Unmount());
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 2u) << "the counter is not persisted";
}

TEST_F(ChecksumMountTest, CheckVerifyDataFindsDamagedBlocksAndRepairDropsThem) {
  ASSERT_TRUE(mount_.Unmount());
  CommandResult r = Check(mount_.cache(), {"--verify-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("32 blocks verified against their checksums, 0 failed"), std::string::npos)
      << r.out;

  DamageTwoBlocks();
  // The metadata alone is consistent: only reading the data finds the damage.
  r = Check(mount_.cache(), {});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Check(mount_.cache(), {"--verify-data"});
  EXPECT_EQ(r.exit_code, kExitRuntime) << r.out << r.err;
  EXPECT_NE(r.out.find("2 mapped blocks fail their checksum"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("block 5 in slot"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 sectors (3) fail their checksum"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("block 20 in slot"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--repair --verify-data"), std::string::npos) << r.out;

  r = Check(mount_.cache(), {"--verify-data", "--repair"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("repaired: deleted 2 bad mappings"), std::string::npos) << r.out;
  r = Check(mount_.cache(), {"--verify-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("30 blocks verified against their checksums, 0 failed"), std::string::npos)
      << r.out;

  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_EQ(StatusCounter(mount_.view(), "used_blocks"), kFileSize / kBlock - 2);
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 0u) << "repaired blocks were served";
}

TEST_F(ChecksumMountTest, ACacheWhoseChecksumFileIsLostComesBackColdAndCheckSaysWhy) {
  ASSERT_TRUE(mount_.Unmount());
  ASSERT_EQ(::unlink((mount_.cache() + "/checksums").c_str()), 0);
  DamageTwoBlocks();
  CommandResult r = Check(mount_.cache(), {});
  EXPECT_EQ(r.exit_code, kExitRuntime) << r.out << r.err;
  EXPECT_NE(r.out.find("32 mappings have no checksums"), std::string::npos) << r.out;
  ASSERT_TRUE(mount_.Remount()) << mount_.failure();
  EXPECT_NE(mount_.DaemonLog().find("checksums' was missing"), std::string::npos)
      << mount_.DaemonLog();
  EXPECT_EQ(StatusCounter(mount_.view(), "used_blocks"), 0u);
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  EXPECT_EQ(ReadFileDirect(mount_.ViewPath("f")), data_);
  EXPECT_EQ(TotalCounter(mount_, "corrupt_blocks"), 0u);
}

}  // namespace
}  // namespace wtcachefs::testing
