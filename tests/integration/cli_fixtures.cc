// SPDX-License-Identifier: Apache-2.0
#include "integration/cli_fixtures.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/mounted_view.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

char ProcessState(const std::string& pid) {
  const std::string stat = ReadFile("/proc/" + pid + "/stat");
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || stat.size() <= close_paren + 2) return '?';
  return stat[close_paren + 2];
}

}  // namespace

std::vector<pid_t> LiveDaemonsFor(const std::string& view) {
  return LiveDaemonsWithArgs({view});
}

std::vector<pid_t> LiveDaemonsWithArgs(const std::vector<std::string>& wanted) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (const dirent* e = ::readdir(proc)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = ReadFile("/proc/" + std::string(e->d_name) + "/cmdline");
    // Arguments are NUL-separated; a view path with spaces stays one argument.
    std::vector<std::string> args;
    std::stringstream split(cmdline);
    for (std::string arg; std::getline(split, arg, '\0');) args.push_back(arg);
    if (args.empty() || args[0].find("wtcachefs") == std::string::npos) continue;
    const bool all_present = std::all_of(wanted.begin(), wanted.end(), [&](const auto& w) {
      return std::find(args.begin(), args.end(), w) != args.end();
    });
    if (!all_present) continue;
    const char state = ProcessState(e->d_name);
    if (state == 'Z' || state == 'X' || state == '?') continue;
    pids.push_back(pid);
  }
  ::closedir(proc);
  return pids;
}

bool WaitForNoLiveDaemon(const std::string& view, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!LiveDaemonsFor(view).empty()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string SuperOptionsOf(const std::string& view) {
  std::string found;
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == view) found = m.super_options;  // the last (topmost) wins
  }
  return found;
}

ViewTeardown::~ViewTeardown() {
  for (int attempt = 0; attempt < 3 && IsMountPoint(view_); ++attempt) {
    if (RunCommand({"fusermount3", "-u", view_}, std::chrono::seconds(20)).exit_code != 0) {
      ::umount2(view_.c_str(), MNT_DETACH);
    }
  }
  if (!WaitForNoLiveDaemon(view_, std::chrono::seconds(20))) {
    for (pid_t pid : LiveDaemonsFor(view_)) ::kill(pid, SIGKILL);
  }
}

ReadOnlyBindMount::ReadOnlyBindMount(std::string dir) : dir_(std::move(dir)) {
  if (::mount(dir_.c_str(), dir_.c_str(), nullptr, MS_BIND, nullptr) != 0) return;
  mounted_ = true;
  if (::mount(nullptr, dir_.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    ::umount2(dir_.c_str(), MNT_DETACH);
    mounted_ = false;
  }
}

ReadOnlyBindMount::~ReadOnlyBindMount() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

std::string UserMountsUnavailable() {
  struct stat helper;
  if (::stat("/usr/bin/fusermount3", &helper) != 0 || helper.st_uid != 0 ||
      !(helper.st_mode & S_ISUID)) {
    return "/usr/bin/fusermount3 is not setuid root: this system does not allow user mounts";
  }
  return "";
}

InstalledBinary::InstalledBinary() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    struct stat st;
    if (::lstat(kPath, &st) != 0) {
      if (::symlink(WtcachefsBinary().c_str(), kPath) == 0) {
        created_ = true;
        return;
      }
      if (errno != EEXIST) {
        skip_reason_ = std::string("cannot create ") + kPath + ": " + std::strerror(errno);
        return;
      }
      continue;  // another test created it just now
    }
    if (!S_ISLNK(st.st_mode)) {
      skip_reason_ = std::string(kPath) + " exists and is not a symlink: not ours to replace";
      return;
    }
    char target[PATH_MAX] = {};
    const ssize_t n = ::readlink(kPath, target, sizeof(target) - 1);
    if (n > 0 && WtcachefsBinary() == std::string(target, static_cast<size_t>(n))) {
      return;  // already points at the binary under test; leave it as it is
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      skip_reason_ = std::string(kPath) + " is a symlink to another binary ('" + target +
                     "'), probably another build's test: not replaced";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

InstalledBinary::~InstalledBinary() {
  if (!created_) return;
  char target[PATH_MAX] = {};
  const ssize_t n = ::readlink(kPath, target, sizeof(target) - 1);
  if (n > 0 && WtcachefsBinary() == std::string(target, static_cast<size_t>(n))) {
    ::unlink(kPath);
  }
}

bool EnterPrivateMountNamespace(std::string* why) {
  if (::unshare(CLONE_NEWNS) != 0) {
    *why = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    return false;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    *why = std::string("making / private: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool BindFuseDeviceOpenToAll(const std::string& dir, std::string* why) {
  const std::string node = dir + "/fuse-device";
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(10, 229)) != 0 ||
      ::chmod(node.c_str(), 0666) != 0) {
    *why = "mknod " + node + ": " + std::strerror(errno);
    return false;
  }
  return BindFileOver(node, "/dev/fuse", why);
}

bool BindFileOver(const std::string& file, const std::string& target, std::string* why) {
  if (::mount(file.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    *why = "bind-mounting " + file + " on " + target + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool BecomeNobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

CommandResult RunWithSetup(const std::function<bool()>& setup,
                           const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  char out_templ[] = "/tmp/wtcachefs-setup-out-XXXXXX";
  char err_templ[] = "/tmp/wtcachefs-setup-err-XXXXXX";
  const int out_fd = ::mkstemp(out_templ);
  const int err_fd = ::mkstemp(err_templ);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    if (!setup()) ::_exit(125);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(null_fd);
  ::close(out_fd);
  ::close(err_fd);
  CommandResult result;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid > 0 && ::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (pid > 0 && !result.timed_out && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (pid > 0 && WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  result.out = ReadFile(out_templ);
  result.err = ReadFile(err_templ);
  ::unlink(out_templ);
  ::unlink(err_templ);
  return result;
}

}  // namespace wtcachefs::testing
