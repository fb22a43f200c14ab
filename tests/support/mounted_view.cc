// SPDX-License-Identifier: Apache-2.0
#include "support/mounted_view.h"

#include <dirent.h>
#include <sys/mount.h>

#include <cstdlib>
#include <fstream>
#include <string_view>
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

namespace {

// True when process `pid` has a thread libfuse runs an io_uring queue on
// ("fuse-ring-N"): its view is served over io_uring.
bool HasRingThreads(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(tasks + "/" + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name) && name.rfind("fuse-ring-", 0) == 0) found = true;
  }
  ::closedir(dir);
  return found;
}

// When the suite runs with WTCACHEFS_EXPECT_TRANSPORT set (scripts/test.sh
// runs it once over each transport), every mount that does not choose its
// transport itself must be served over that one: else the run would not test
// what it says. Told by the daemon's threads, not by asking the view, which
// would have the kernel cache the root's attributes before the test begins.
// "" when it is.
std::string TransportMismatch(const std::vector<std::string>& argv, pid_t daemon) {
  const char* expected = std::getenv("WTCACHEFS_EXPECT_TRANSPORT");
  if (expected == nullptr || *expected == '\0') return {};
  for (const std::string& arg : argv) {
    if (arg.find("transport") != std::string::npos) return {};
  }
  const bool want_ring = std::string_view(expected) == "io_uring";
  // The ring threads start once the kernel's INIT is answered.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(want_ring ? 5 : 0);
  bool ring = HasRingThreads(daemon);
  while (want_ring && !ring && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ring = HasRingThreads(daemon);
  }
  if (ring == want_ring) return {};
  return "the view was mounted over " + std::string(ring ? "io_uring" : "dev_fuse") +
         ", not over WTCACHEFS_EXPECT_TRANSPORT=" + expected;
}

}  // namespace

std::unique_ptr<ChildProcess> StartForegroundMount(const std::vector<std::string>& argv,
                                                   const std::string& view,
                                                   std::string* failure) {
  auto daemon = std::make_unique<ChildProcess>(argv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsWtcachefsMount(view)) {
      if (std::string mismatch = TransportMismatch(argv, daemon->pid()); !mismatch.empty()) {
        StopForegroundMount(daemon, view, std::chrono::seconds(20));
        *failure = std::move(mismatch);
        return nullptr;
      }
      return daemon;
    }
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
