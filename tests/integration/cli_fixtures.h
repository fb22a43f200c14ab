// SPDX-License-Identifier: Apache-2.0
// Fixtures for the command-line integration tests (bad_input_test, mount_forms_test):
// finding the detached daemon of a view, guaranteed teardown of a view mount, a
// read-only mount guard, the binary installed where mount(8) finds it, and running
// the binary in a child with a custom setup (another user, another mount namespace).
//
// Thread safety: for the test's main thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace wtcachefs::testing {

// Pids of wtcachefs processes whose command line mentions `view` and that are
// still alive. A zombie (state Z) has exited: the sandbox's pid 1 may never reap
// a daemon that was reparented to it, so zombies are not counted.
std::vector<pid_t> LiveDaemonsFor(const std::string& view);
// The same for daemons whose command line holds every one of `args`.
std::vector<pid_t> LiveDaemonsWithArgs(const std::vector<std::string>& args);

// Waits up to `timeout` until no live daemon mentions `view`.
bool WaitForNoLiveDaemon(const std::string& view,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The per-superblock options of the mount at `view` ("rw,user_id=0,...,allow_other"),
// or "" when nothing is mounted there.
std::string SuperOptionsOf(const std::string& view);

// Why this system does not allow user mounts ("" when it does): fusermount3
// must be setuid root.
std::string UserMountsUnavailable();

// On destruction: unmounts whatever is mounted at `view` (lazily if it must) and
// kills any daemon still serving it, so a failed test leaves nothing behind.
class ViewTeardown {
 public:
  explicit ViewTeardown(std::string view) : view_(std::move(view)) {}
  ~ViewTeardown();
  ViewTeardown(const ViewTeardown&) = delete;
  ViewTeardown& operator=(const ViewTeardown&) = delete;

 private:
  std::string view_;
};

// A read-only bind mount of `dir` onto itself, undone on destruction. Root may write
// into any directory whatever its mode; a read-only mount stops it.
class ReadOnlyBindMount {
 public:
  explicit ReadOnlyBindMount(std::string dir);
  ~ReadOnlyBindMount();
  ReadOnlyBindMount(const ReadOnlyBindMount&) = delete;
  ReadOnlyBindMount& operator=(const ReadOnlyBindMount&) = delete;
  bool ok() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// /usr/local/bin/wtcachefs -> the binary under test, for mount(8), which runs
// mount.fuse3 with a sanitized PATH. Created only if nothing is there and removed
// only if this guard created it. Waits a while for another test's link to go.
class InstalledBinary {
 public:
  InstalledBinary();
  ~InstalledBinary();
  InstalledBinary(const InstalledBinary&) = delete;
  InstalledBinary& operator=(const InstalledBinary&) = delete;
  // Empty when usable; otherwise why the tests must be skipped.
  const std::string& skip_reason() const { return skip_reason_; }

  static constexpr const char* kPath = "/usr/local/bin/wtcachefs";

 private:
  bool created_ = false;
  std::string skip_reason_;
};

// Moves this process (which must be single-threaded) into a private mount
// namespace of its own: mounts made from now on, by it and its children, are
// seen by no other process and go away with the namespace.
bool EnterPrivateMountNamespace(std::string* why);
// In such a namespace: a FUSE device node open to all (0666, as udev makes it on
// a stock system; a container's /dev/fuse may be root's alone) is made in `dir`
// and bind-mounted over /dev/fuse.
bool BindFuseDeviceOpenToAll(const std::string& dir, std::string* why);
// In such a namespace: `file` bind-mounted over the file `target`.
bool BindFileOver(const std::string& file, const std::string& target, std::string* why);

// A `setup` for RunWithSetup: becomes uid and gid 65534 (nobody) with no
// supplementary groups.
bool BecomeNobody();

// Forks, runs `setup` in the child (it returns false when it failed: exit 125),
// then execs argv with stdin from /dev/null and stdout/stderr captured.
CommandResult RunWithSetup(const std::function<bool()>& setup,
                           const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace wtcachefs::testing
