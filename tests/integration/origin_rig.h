// SPDX-License-Identifier: Apache-2.0
// OriginRig: one wtcachefs mount over an origin that another program also
// changes, for the W2/W6 tests (origin_consistency_test, coarse_timestamps_test,
// network_origin_test). The file "f" lives in `backing`, the origin's real
// storage, which the other program writes directly, as another NFS or SFTP
// client would:
//   - kLocal: ORIGIN is `backing` itself (ext4 or whatever holds TMPDIR);
//   - kAttributeCaching: ORIGIN is a slow_origin_fs mount of it (attribute
//     timeout 1 s, as sshfs and NFS clients cache attributes);
//   - kCoarseTimestamps: the same, reporting whole-second timestamps (as
//     SFTP, FAT and ext3 do);
//   - kSftp: ORIGIN is an sshfs mount of it through OpenSSH's sftp server on
//     127.0.0.1 (support/sftp_origin.h): a real network origin.
// Each mount passes a small --cache-size; everything is unmounted and removed
// on destruction, also when the test failed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/sftp_origin.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {

enum class Mode { kDirectory, kImage };
enum class Origin { kLocal, kAttributeCaching, kCoarseTimestamps, kSftp };

std::string ModeName(Mode m);
std::string OriginName(Origin o);

constexpr size_t kFileSize = 256 << 10;  // the size of "f"

class OriginRig {
 public:
  OriginRig(Mode mode, Origin origin, std::vector<std::string> extra = {});
  ~OriginRig();
  OriginRig(const OriginRig&) = delete;
  OriginRig& operator=(const OriginRig&) = delete;

  bool ok() const { return daemon_ != nullptr; }
  // Why the origin could not be set up at all (sshd could not start): the
  // test skips with it. Empty otherwise.
  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& failure() const { return failure_; }
  // The file through the view, and in the origin's storage.
  std::string view_file() const { return view_ + "/f"; }
  std::string backing_file() const { return backing_ + "/f"; }
  const std::string& view() const { return view_; }
  const std::string& backing() const { return backing_; }
  const std::string& origin_dir() const { return origin_dir_; }
  const TempDir& dir() const { return dir_; }
  // The sftp server of a kSftp rig (null otherwise), for a second client.
  const SftpServer* sftp_server() const { return sftp_.get(); }

  bool Unmount();
  bool Remount();
  // The daemon's pid, for kill tests (-1 when not mounted).
  pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
  // Forgets a daemon that was killed (its mount is lazily detached).
  void Abandon();

 private:
  bool Mount();

  const Mode mode_;
  const std::vector<std::string> extra_;
  TempDir dir_;
  std::string backing_, origin_dir_, cache_, view_;
  std::unique_ptr<ChildProcess> fixture_;
  std::unique_ptr<SftpServer> sftp_;
  std::unique_ptr<SshfsMount> sshfs_;
  std::unique_ptr<ChildProcess> daemon_;
  std::string skip_reason_;
  std::string failure_;
};

// The view's file held open twice, buffered and O_DIRECT, as a long-running
// reader holds it; closed on destruction.
class HeldViewFile {
 public:
  explicit HeldViewFile(const std::string& path);
  ~HeldViewFile();
  HeldViewFile(const HeldViewFile&) = delete;
  HeldViewFile& operator=(const HeldViewFile&) = delete;

  bool ok() const { return buffered_ >= 0 && direct_ >= 0 && aligned_ != nullptr; }
  // Reads the whole file through both; false when either read fell short.
  bool ReadBoth();
  // Reads through both and expects `expected` from each.
  void ExpectBothServe(const std::string& expected);

 private:
  int buffered_ = -1;
  int direct_ = -1;
  void* aligned_ = nullptr;
  std::string got_;
};

}  // namespace wtcachefs::testing

// Skips the test when the rig's origin cannot exist here (sshd would not
// start), and fails it when the mount did not come up.
#define ASSERT_RIG_READY(rig)                                              \
  do {                                                                     \
    if (!(rig).skip_reason().empty()) GTEST_SKIP() << (rig).skip_reason(); \
    ASSERT_TRUE((rig).ok()) << (rig).failure();                            \
  } while (0)
