#include "support/mounted_view.h"

#include <sys/mount.h>

#include <thread>

namespace wtcachefs::testing {

bool WaitForMountState(const std::string& view, bool mounted) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsWtcachefsMount(view) == mounted) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return IsWtcachefsMount(view) == mounted;
}

MountedView::MountedView(std::vector<std::string> extra_args, std::string binary)
    : origin_(dir_.Sub("origin")),
      cache_(dir_.Sub("cache")),
      view_(dir_.Sub("view")),
      extra_args_(std::move(extra_args)),
      binary_(std::move(binary)) {
  Mount();
}

MountedView::~MountedView() { Unmount(); }

bool MountedView::Mount() {
  // A small cache: the default (a tenth of the filesystem) is meant for real disks.
  std::vector<std::string> argv = {binary_, origin_, cache_, view_, "-f",
                                   "--cache-size", "64M"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  daemon_ = std::make_unique<ChildProcess>(argv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsWtcachefsMount(view_)) {
      mounted_ = true;
      return true;
    }
    if (!daemon_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const CommandResult result = daemon_->Wait(std::chrono::seconds(1));
  failure_ = "wtcachefs did not mount (exit " + std::to_string(result.exit_code) + "): " +
             result.err;
  daemon_.reset();
  return false;
}

bool MountedView::Remount() {
  if (mounted_) return true;
  return Mount();
}

bool MountedView::Unmount() {
  if (!daemon_) return false;
  if (IsWtcachefsMount(view_)) {
    RunCommand({"fusermount3", "-u", view_}, std::chrono::seconds(20));
    if (!WaitForMountState(view_, false)) ::umount2(view_.c_str(), MNT_DETACH);
  }
  const CommandResult result = daemon_->Wait(std::chrono::seconds(20));
  daemon_.reset();
  mounted_ = false;
  return result.exit_code == 0;
}

}  // namespace wtcachefs::testing
