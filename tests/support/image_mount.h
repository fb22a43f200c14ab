// SPDX-License-Identifier: Apache-2.0
// ImageMount: a real wtcachefs mount in image mode for integration tests. ORIGIN
// is an image file in a fresh temporary directory, or a loop device attached to
// such a file (LoopDevice); the daemon runs in the foreground and is unmounted
// in the destructor even when the test failed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {

// A loop device over `backing_file`, detached on destruction.
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& backing_file);
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }  // /dev/loopN
  const std::string& failure() const { return failure_; }
  // Makes the device take its backing file's new size (losetup -c).
  bool RefreshSize();

 private:
  std::string path_;
  std::string failure_;
};

enum class ImageKind { kFile, kLoopDevice };

class ImageMount {
 public:
  // Creates an image file of `size` bytes (sparse) and, for kLoopDevice, a loop
  // device over it; does not mount yet.
  ImageMount(ImageKind kind, uint64_t size);
  ~ImageMount();
  ImageMount(const ImageMount&) = delete;
  ImageMount& operator=(const ImageMount&) = delete;

  // Set-up problems (no loop device), for failure messages; empty when fine.
  const std::string& setup_failure() const { return setup_failure_; }
  // Mounts `wtcachefs ORIGIN CACHE VIEW -f --cache-size 64M [extra]`; on
  // failure returns false and failure() says why.
  bool Mount(const std::vector<std::string>& extra_args = {});
  // fusermount3 -u and wait for the daemon; true when it exited with status 0.
  bool Unmount();
  const std::string& failure() const { return failure_; }

  ImageKind kind() const { return kind_; }
  const TempDir& dir() const { return dir_; }
  // ORIGIN as given to wtcachefs: the image file or the loop device.
  const std::string& origin() const { return origin_; }
  // The file behind ORIGIN (the image itself, or the loop device's backing file).
  const std::string& backing_file() const { return backing_file_; }
  const std::string& cache() const { return cache_; }
  const std::string& view() const { return view_; }
  // The one file in VIEW.
  std::string view_file() const;
  LoopDevice* loop_device() { return loop_.get(); }
  pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }

 private:
  const ImageKind kind_;
  TempDir dir_;
  std::string backing_file_, cache_, view_, origin_;
  std::unique_ptr<LoopDevice> loop_;
  std::unique_ptr<ChildProcess> daemon_;
  std::string setup_failure_;
  std::string failure_;
};

// A counter of the view's status line (`wtcachefs.status.line` on the view
// root, as `wtcachefs status --line` shows it); aborts the test if absent.
uint64_t StatusCounter(const std::string& view, const std::string& name);

// The daemon's resident set size in bytes (VmRSS), 0 if it cannot be read.
uint64_t ResidentBytes(pid_t pid);

// `size` bytes of a repeatable pattern that differs at every 512-byte sector.
std::string Pattern(size_t size, uint32_t seed);

}  // namespace wtcachefs::testing
