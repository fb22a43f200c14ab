// SPDX-License-Identifier: Apache-2.0
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

MountedView::MountedView(ExistingOrigin origin, std::vector<std::string> extra_args)
    : origin_(std::move(origin.path)),
      cache_(dir_.Sub("cache")),
      view_(dir_.Sub("view")),
      extra_args_(std::move(extra_args)),
      binary_(WtcachefsBinary()) {
  Mount();
}

MountedView::~MountedView() { Unmount(); }

std::unique_ptr<ChildProcess> StartForegroundMount(const std::vector<std::string>& argv,
                                                   const std::string& view,
                                                   std::string* failure) {
  auto daemon = std::make_unique<ChildProcess>(argv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsWtcachefsMount(view)) return daemon;
    if (!daemon->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const CommandResult result = daemon->Wait(std::chrono::seconds(1));
  *failure = "wtcachefs did not mount (exit " + std::to_string(result.exit_code) + "): " +
             result.err;
  return nullptr;
}

bool StopForegroundMount(std::unique_ptr<ChildProcess>& daemon, const std::string& view,
                         std::chrono::seconds wait) {
  if (!daemon) return false;
  if (IsWtcachefsMount(view)) {
    RunCommand({"fusermount3", "-u", view}, std::chrono::seconds(20));
    if (!WaitForMountState(view, false)) ::umount2(view.c_str(), MNT_DETACH);
  }
  const CommandResult result = daemon->Wait(wait);
  daemon.reset();
  return result.exit_code == 0;
}

bool MountedView::Mount() {
  // A small cache: the default (a tenth of the filesystem) is meant for real disks.
  std::vector<std::string> argv = {binary_, origin_, cache_, view_, "-f",
                                   "--cache-size", "64M"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  daemon_ = StartForegroundMount(argv, view_, &failure_);
  mounted_ = daemon_ != nullptr;
  return mounted_;
}

bool MountedView::Remount() {
  if (mounted_) return true;
  return Mount();
}

bool MountedView::RemountWith(std::vector<std::string> extra_args) {
  if (mounted_) return false;
  extra_args_ = std::move(extra_args);
  return Mount();
}

bool MountedView::Unmount() {
  mounted_ = false;
  return StopForegroundMount(daemon_, view_, std::chrono::seconds(20));
}

}  // namespace wtcachefs::testing
