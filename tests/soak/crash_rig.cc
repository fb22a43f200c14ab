// SPDX-License-Identifier: Apache-2.0
#include "crash_rig.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace wtcachefs::crash_soak {
namespace {

struct MountEntry {
  std::string mount_point;
  std::string fstype;
  std::string device;  // "major:minor"
};

// "\040" and the like in /proc/self/mountinfo, decoded.
std::string DecodeMountPath(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out.push_back(static_cast<char>(std::strtol(field.substr(i + 1, 3).c_str(), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

// This namespace's mounts, in mount order (the last is topmost).
std::vector<MountEntry> MountTable() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point, token;
    fields >> id >> parent >> devno >> root >> mount_point;
    while (fields >> token && token != "-") {
    }
    MountEntry entry;
    fields >> entry.fstype;
    entry.mount_point = DecodeMountPath(mount_point);
    entry.device = devno;
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);
  return 0;
}

std::string ReadTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  const std::string all = content.str();
  return all.size() <= bytes ? all : "..." + all.substr(all.size() - bytes);
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Each of `pid`'s threads that has not exited: its id, name, state and
// kernel stack, for a report.
std::string ThreadStacks(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::string out;
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = tasks + "/" + entry->d_name;
    const std::string stat = FirstLine(task + "/stat");
    const size_t paren = stat.rfind(')');
    const char state =
        paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
    if (state == 'Z') continue;
    out += std::string("    thread ") + entry->d_name + " (" + FirstLine(task + "/comm") +
           ") state " + state + "\n";
    std::ifstream stack(task + "/stack");
    std::string frame;
    while (std::getline(stack, frame)) out += "      " + frame + "\n";
  }
  ::closedir(dir);
  return out;
}

// Aborts FUSE connection `id`, mounting fusectl first if need be. 0 or an errno.
int AbortFuseConnection(const std::string& id) {
  const std::string abort_file = std::string(kFuseControlDir) + "/" + id + "/abort";
  if (::access(abort_file.c_str(), F_OK) != 0 &&
      ::mount("fusectl", kFuseControlDir, "fusectl", 0, nullptr) != 0) {
    return errno;
  }
  const int fd = ::open(abort_file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int error = ::write(fd, "1", 1) == 1 ? 0 : errno;
  ::close(fd);
  return error;
}

}  // namespace

bool IsWtcachefsMount(const std::string& path) {
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == path && m.fstype == "fuse.wtcachefs") return true;
  }
  return false;
}

bool IsMountPoint(const std::string& path) {
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == path) return true;
  }
  return false;
}

void DetachMountsBelow(const std::string& dir) {
  const std::vector<MountEntry> mounts = MountTable();
  for (auto m = mounts.rbegin(); m != mounts.rend(); ++m) {
    if (m->mount_point == dir || m->mount_point.rfind(dir + "/", 0) == 0) {
      ::umount2(m->mount_point.c_str(), MNT_DETACH);
    }
  }
}

void RemoveTree(const std::string& dir) {
  if (dir.empty() || dir == "/") return;
  DetachMountsBelow(dir);
  ::nftw(dir.c_str(), RemoveEntry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

std::string MakeUniqueDirectory(const std::string& parent, const std::string& prefix) {
  std::string templ = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return {};
  char resolved[PATH_MAX];
  return ::realpath(templ.c_str(), resolved) != nullptr ? resolved : templ;
}

namespace {

// Counter `name` of the view's status line; nullopt when it cannot be read.
std::optional<uint64_t> StatusField(const std::string& view, const std::string& name) {
  char line[4096];
  const ssize_t n = ::getxattr(view.c_str(), "wtcachefs.status.line", line, sizeof(line) - 1);
  if (n < 0) return std::nullopt;
  const std::string text = " " + std::string(line, static_cast<size_t>(n));
  const std::string key = " " + name + "=";
  const size_t at = text.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::strtoull(text.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

std::optional<uint64_t> UsedBlocks(const std::string& view) {
  return StatusField(view, "used_blocks");
}

void OpenEveryFileAndWaitForRecovery(const std::string& view) {
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(view, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    if (const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) ::close(fd);
  }
  std::optional<uint64_t> last = StatusField(view, "recovered_blocks");
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::optional<uint64_t> now = StatusField(view, "recovered_blocks");
    if (now == last) return;
    last = now;
  }
}

int InvalidateCachedFile(const std::string& view_file) {
  return ::setxattr(view_file.c_str(), "wtcachefs.invalidate", "", 0, 0) == 0 ? 0 : errno;
}

DaemonMount::DaemonMount(std::vector<std::string> argv, std::string view, std::string log)
    : argv_(std::move(argv)), view_(std::move(view)), log_(std::move(log)) {}

DaemonMount::~DaemonMount() {
  if (running() && !UnmountCleanly().empty()) (void)Kill();
  if (IsWtcachefsMount(view_)) ::umount2(view_.c_str(), MNT_DETACH);
}

std::string DaemonMount::CommandLine() const {
  std::string line;
  for (const std::string& arg : argv_) line += (line.empty() ? "" : " ") + arg;
  return line;
}

std::string DaemonMount::LogTail(size_t bytes) const { return ReadTail(log_, bytes); }

std::string DaemonMount::Mount() {
  if (running()) return "the daemon is running already";
  const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return "cannot open " + log_ + ": " + std::strerror(errno);
  const std::string header = "== " + CommandLine() + "\n";
  (void)!::write(log_fd, header.data(), header.size());
  std::vector<char*> args;
  for (std::string& arg : argv_) args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::setpgid(0, 0);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (child < 0) return std::string("fork failed: ") + std::strerror(errno);
  pid_ = child;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const MountEntry& m : MountTable()) {
      if (m.mount_point != view_ || m.fstype != "fuse.wtcachefs") continue;
      connection_ = m.device.substr(m.device.find(':') + 1);
      return {};
    }
    if (const std::optional<int> status = WaitForExit(0)) {
      return "wtcachefs exited with wait status " + std::to_string(*status) + " before mounting " +
             view_ + "; its log ends:\n" + LogTail();
    }
    SleepMs(5);
  }
  (void)Kill();
  return "wtcachefs did not mount " + view_ + " within 60 s; its log ends:\n" + LogTail();
}

std::optional<int> DaemonMount::WaitForExit(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    SleepMs(2);
  }
}

std::string DaemonMount::Kill() {
  std::string stuck;
  if (running()) {
    ::kill(pid_, SIGKILL);
    if (!WaitForExit(5'000)) {
      stuck = "the daemon (pid " + std::to_string(pid_) + ") was alive 5 s after SIGKILL:\n" +
              ThreadStacks(pid_);
      const int error = AbortFuseConnection(connection_);
      stuck += error == 0 ? "    released by aborting FUSE connection " + connection_ + " (" +
                                kFuseControlDir + "/" + connection_ + "/abort)"
                          : "    cannot abort FUSE connection " + connection_ + ": " +
                                std::strerror(error);
      if (!WaitForExit(60'000)) {
        stuck += "\n    and it is still alive: given up";
        pid_ = -1;
      }
    }
  }
  if (IsWtcachefsMount(view_)) ::umount2(view_.c_str(), MNT_DETACH);
  return stuck;
}

std::string DaemonMount::UnmountCleanly() {
  if (!running()) return "no daemon to unmount";
  // The kernel may hold the mount busy for a moment after its last user left.
  int error = 0;
  for (int attempt = 0; attempt < 200; ++attempt) {
    error = ::umount2(view_.c_str(), 0) == 0 ? 0 : errno;
    if (error != EBUSY) break;
    SleepMs(50);
  }
  if (error != 0) {
    const std::string stuck = Kill();
    return "umount " + view_ + " failed: " + std::strerror(error) + "\n" + stuck;
  }
  const std::optional<int> status = WaitForExit(60'000);
  if (!status) {
    const std::string stuck = Kill();
    return "the daemon did not exit within 60 s of the unmount of " + view_ + "\n" + stuck;
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return {};
  const std::string how = WIFEXITED(*status) ? "with status " + std::to_string(WEXITSTATUS(*status))
                                             : "by signal " + std::to_string(WTERMSIG(*status));
  return "the daemon exited " + how + " after the unmount of " + view_ + "; its log ends:\n" +
         LogTail();
}

Watchdog::Watchdog() : thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Watchdog::Arm(std::string phase, pid_t daemon, std::chrono::seconds limit) {
  {
    std::lock_guard lock(mutex_);
    phase_ = std::move(phase);
    daemon_ = daemon;
    deadline_ = std::chrono::steady_clock::now() + limit;
  }
  wake_.notify_one();
}

void Watchdog::Disarm() {
  std::lock_guard lock(mutex_);
  deadline_.reset();
}

std::optional<std::string> Watchdog::TakeExpired() {
  std::lock_guard lock(mutex_);
  return std::exchange(expired_, std::nullopt);
}

void Watchdog::Run() {
  std::unique_lock lock(mutex_);
  while (!quit_) {
    if (!deadline_) {
      wake_.wait(lock);
    } else if (wake_.wait_until(lock, *deadline_) == std::cv_status::timeout && deadline_ &&
               std::chrono::steady_clock::now() >= *deadline_) {
      expired_ = phase_;
      deadline_.reset();
      if (daemon_ > 0) ::kill(daemon_, SIGKILL);
    }
  }
}

}  // namespace wtcachefs::crash_soak
