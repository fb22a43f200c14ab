// SPDX-License-Identifier: Apache-2.0
#include "integration/origin_rig.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {

std::string ModeName(Mode m) { return m == Mode::kDirectory ? "Directory" : "Image"; }

std::string OriginName(Origin o) {
  switch (o) {
    case Origin::kLocal: return "Ext4";
    case Origin::kAttributeCaching: return "AttrCaching";
    case Origin::kCoarseTimestamps: return "CoarseTimestamps";
    case Origin::kSftp: return "Sftp";
  }
  return "?";
}

OriginRig::OriginRig(Mode mode, Origin origin, std::vector<std::string> extra)
    : mode_(mode), extra_(std::move(extra)) {
  backing_ = dir_.Sub("backing");
  cache_ = dir_.Sub("cache");
  view_ = dir_.Sub("view");
  WriteFile(backing_ + "/f", Pattern(kFileSize, 1));
  origin_dir_ = backing_;
  if (origin == Origin::kAttributeCaching || origin == Origin::kCoarseTimestamps) {
    origin_dir_ = dir_.Sub("origin");
    std::vector<std::string> argv = {SLOW_ORIGIN_FS_BINARY, backing_, origin_dir_, "-f", "-o",
                                     "latency_us=0"};
    if (origin == Origin::kCoarseTimestamps) argv.back() += ",coarse_timestamps";
    fixture_ = std::make_unique<ChildProcess>(argv);
    for (int i = 0; i < 100 && !IsMountPoint(origin_dir_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!IsMountPoint(origin_dir_)) {
      failure_ = "slow_origin_fs did not mount: " + fixture_->StderrSoFar();
      return;
    }
  } else if (origin == Origin::kSftp) {
    sftp_ = std::make_unique<SftpServer>();
    if (!sftp_->ok()) {
      skip_reason_ = sftp_->skip_reason();
      failure_ = skip_reason_;
      return;
    }
    origin_dir_ = dir_.Sub("origin");
    sshfs_ = std::make_unique<SshfsMount>(*sftp_, backing_, origin_dir_);
    if (!sshfs_->ok()) {
      failure_ = sshfs_->failure();
      return;
    }
  }
  Mount();
}

OriginRig::~OriginRig() {
  Unmount();
  sshfs_.reset();
  sftp_.reset();
  if (fixture_) {
    RunCommand({"fusermount3", "-u", origin_dir_});
    fixture_->Wait(std::chrono::seconds(10));
  }
}

bool OriginRig::Unmount() {
  if (!daemon_) return true;
  return StopForegroundMount(daemon_, view_, std::chrono::seconds(30));
}

bool OriginRig::Remount() {
  Unmount();
  return Mount();
}

void OriginRig::Abandon() {
  if (IsMountPoint(view_)) ::umount2(view_.c_str(), MNT_DETACH);
  if (daemon_) daemon_->Wait(std::chrono::seconds(10));
  daemon_.reset();
}

HeldViewFile::HeldViewFile(const std::string& path)
    : buffered_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)),
      direct_(::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)),
      got_(kFileSize, '\0') {
  if (::posix_memalign(&aligned_, 4096, kFileSize) != 0) aligned_ = nullptr;
}

HeldViewFile::~HeldViewFile() {
  std::free(aligned_);
  if (buffered_ >= 0) ::close(buffered_);
  if (direct_ >= 0) ::close(direct_);
}

bool HeldViewFile::ReadBoth() {
  const auto full = static_cast<ssize_t>(kFileSize);
  return ::pread(buffered_, got_.data(), kFileSize, 0) == full &&
         ::pread(direct_, aligned_, kFileSize, 0) == full;
}

void HeldViewFile::ExpectBothServe(const std::string& expected) {
  ASSERT_EQ(expected.size(), kFileSize);
  const auto full = static_cast<ssize_t>(kFileSize);
  ASSERT_EQ(::pread(direct_, aligned_, kFileSize, 0), full);
  EXPECT_TRUE(std::memcmp(aligned_, expected.data(), kFileSize) == 0) << "O_DIRECT";
  ASSERT_EQ(::pread(buffered_, got_.data(), kFileSize, 0), full);
  EXPECT_TRUE(got_ == expected) << "buffered";
}

bool OriginRig::Mount() {
  std::vector<std::string> argv = {WtcachefsBinary(),
                                   mode_ == Mode::kImage ? origin_dir_ + "/f" : origin_dir_,
                                   cache_, view_, "-f", "--cache-size", "64M"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  daemon_ = StartForegroundMount(argv, view_, &failure_);
  return daemon_ != nullptr;
}

}  // namespace wtcachefs::testing
