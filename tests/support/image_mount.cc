// SPDX-License-Identifier: Apache-2.0
#include "support/image_mount.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "support/mounted_view.h"

namespace wtcachefs::testing {

LoopDevice::LoopDevice(const std::string& backing_file) {
  const CommandResult r = RunCommand({"losetup", "--find", "--show", backing_file});
  if (r.exit_code != 0) {
    failure_ = "losetup --find --show " + backing_file + " failed: " + r.err;
    return;
  }
  path_ = r.out.substr(0, r.out.find('\n'));
}

LoopDevice::~LoopDevice() {
  if (path_.empty()) return;
  // The device stays busy for a moment after its last user closed it.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (RunCommand({"losetup", "--detach", path_}).exit_code == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "cannot detach " << path_;
}

bool LoopDevice::RefreshSize() {
  return RunCommand({"losetup", "--set-capacity", path_}).exit_code == 0;
}

ImageMount::ImageMount(ImageKind kind, uint64_t size)
    : kind_(kind),
      backing_file_(dir_.Sub("disk.img", false)),
      cache_(dir_.Sub("cache")),
      view_(dir_.Sub("view")) {
  const int fd = ::open(backing_file_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    setup_failure_ = "cannot create " + backing_file_;
  }
  if (fd >= 0) ::close(fd);
  origin_ = backing_file_;
  if (kind == ImageKind::kLoopDevice) {
    loop_ = std::make_unique<LoopDevice>(backing_file_);
    if (!loop_->ok()) setup_failure_ = loop_->failure();
    origin_ = loop_->path();
  }
}

ImageMount::~ImageMount() { Unmount(); }

std::string ImageMount::view_file() const {
  return view_ + "/" + origin_.substr(origin_.rfind('/') + 1);
}

bool ImageMount::Mount(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {WtcachefsBinary(), origin_, cache_, view_, "-f",
                                   "--cache-size", "64M"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  daemon_ = StartForegroundMount(argv, view_, &failure_);
  return daemon_ != nullptr;
}

bool ImageMount::Unmount() {
  // Closing a large cache flushes its metadata: allow more than a small one needs.
  return StopForegroundMount(daemon_, view_, std::chrono::seconds(60));
}

uint64_t StatusCounter(const std::string& view, const std::string& name) {
  char line[4096];
  const ssize_t n = ::getxattr(view.c_str(), "wtcachefs.status.line", line, sizeof(line) - 1);
  if (n < 0) {
    ADD_FAILURE() << "cannot read the status of " << view;
    return 0;
  }
  const std::string text(line, static_cast<size_t>(n));
  const std::string key = " " + name + "=";
  const size_t at = (" " + text).find(key);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no counter " << name << " in: " << text;
    return 0;
  }
  return std::strtoull(text.c_str() + at + key.size() - 1, nullptr, 10);
}

uint64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string word;
  while (status >> word) {
    if (word == "VmRSS:") {
      uint64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

std::string Pattern(size_t size, uint32_t seed) {
  std::string data(size, '\0');
  std::mt19937 random(seed);
  for (size_t i = 0; i < size; i += 4) {
    const uint32_t word = random();
    for (size_t b = 0; b < 4 && i + b < size; ++b) data[i + b] = static_cast<char>(word >> (8 * b));
  }
  return data;
}

}  // namespace wtcachefs::testing
