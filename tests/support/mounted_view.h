// SPDX-License-Identifier: Apache-2.0
// MountedView: a real wtcachefs mount for integration tests. Creates ORIGIN, CACHE
// and VIEW in a fresh temporary directory, runs the real binary in the foreground
// (`wtcachefs ORIGIN CACHE VIEW -f [extra]`), waits until the mount is in place,
// and unmounts in the destructor even when the test failed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {

// The wtcachefs binary under test.
inline std::string WtcachefsBinary() { return WTCACHEFS_BINARY; }
// The daemon whose IO backend holds completions on request (support/held_io_daemon.cc).
inline std::string HeldIoBinary() { return WTCACHEFS_HELD_IO_BINARY; }

// An ORIGIN that the test made (an sshfs mount, say) instead of the fresh
// directory MountedView creates.
struct ExistingOrigin {
  std::string path;
};

class MountedView {
 public:
  // `extra_args` are appended to the command line (e.g. {"-o", "allow_other"}).
  // Check ok() after construction: the mount may have failed.
  explicit MountedView(std::vector<std::string> extra_args = {},
                       std::string binary = WtcachefsBinary());
  // The same over `origin`; OriginPath() then names paths in it.
  MountedView(ExistingOrigin origin, std::vector<std::string> extra_args);
  ~MountedView();
  MountedView(const MountedView&) = delete;
  MountedView& operator=(const MountedView&) = delete;

  bool ok() const { return mounted_; }
  // What the daemon printed, for failure messages.
  const std::string& failure() const { return failure_; }

  const std::string& origin() const { return origin_; }
  const std::string& cache() const { return cache_; }
  const std::string& view() const { return view_; }
  std::string OriginPath(const std::string& rel) const { return origin_ + "/" + rel; }
  std::string ViewPath(const std::string& rel) const { return view_ + "/" + rel; }
  const TempDir& dir() const { return dir_; }
  // The running daemon's pid (-1 when not mounted) and its stderr so far.
  pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
  std::string DaemonLog() const { return daemon_ ? daemon_->StderrSoFar() : std::string(); }

  // Mounts again over the same directories (after Unmount()).
  bool Remount();
  // The same with other extra arguments from now on.
  bool RemountWith(std::vector<std::string> extra_args);
  // Unmounts with fusermount3 -u and waits for the daemon to exit; returns true
  // when the daemon exited with status 0.
  bool Unmount();

 private:
  bool Mount();

  TempDir dir_;
  std::string origin_, cache_, view_;
  std::vector<std::string> extra_args_;
  std::string binary_;
  std::unique_ptr<ChildProcess> daemon_;
  bool mounted_ = false;
  std::string failure_;
};

// Waits up to 10 s for `view` to become (or stop being) a wtcachefs mount.
bool WaitForMountState(const std::string& view, bool mounted);

// Starts `argv`, a wtcachefs in the foreground, and waits up to 10 s for `view`
// to be mounted. On failure returns null and sets `failure` to what it said.
std::unique_ptr<ChildProcess> StartForegroundMount(const std::vector<std::string>& argv,
                                                   const std::string& view,
                                                   std::string* failure);
// Unmounts `view` (fusermount3 -u; lazily if that does not work) and waits up to
// `wait` for `daemon`, which is then reset. True when it exited with status 0.
bool StopForegroundMount(std::unique_ptr<ChildProcess>& daemon, const std::string& view,
                         std::chrono::seconds wait);

}  // namespace wtcachefs::testing
