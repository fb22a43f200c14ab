// SPDX-License-Identifier: Apache-2.0
// The crash soak's hold on a real mount: the wtcachefs daemon serving one VIEW
// in the foreground, killed with SIGKILL or unmounted as a user does, and the
// directories the soak makes and removes. A standalone program's own helpers
// (tests/support reports through GoogleTest, which the soak does not run under).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace wtcachefs::crash_soak {

// True when `path` (canonical) is the mount point of a fuse.wtcachefs mount.
bool IsWtcachefsMount(const std::string& path);
// Lazily unmounts everything mounted at or below `dir` (canonical), topmost first.
void DetachMountsBelow(const std::string& dir);
// Removes `dir` and everything in it, after detaching whatever is mounted there;
// never crosses into another file system.
void RemoveTree(const std::string& dir);
// A new directory `parent`/`prefix`XXXXXX, canonical; empty on failure.
std::string MakeUniqueDirectory(const std::string& parent, const std::string& prefix);

// The view's `used_blocks` counter (its status line, as `wtcachefs status VIEW
// --line` prints it); nullopt when the status cannot be read.
std::optional<uint64_t> UsedBlocks(const std::string& view);
// Opens every file in `view` without reading it, then waits (up to 10 s) for
// the blocks a crash left in doubt to be compared with origin: the daemon
// compares them after a file's first open, and `recovered_blocks` stops
// rising once it is done.
void OpenEveryFileAndWaitForRecovery(const std::string& view);
// Drops every cached block of `view_file` (`wtcachefs invalidate`); 0 or an errno.
int InvalidateCachedFile(const std::string& view_file);

// Where the kernel lists FUSE connections (fusectl); the soak mounts it there
// when it must abort a connection and it is not mounted.
inline constexpr const char* kFuseControlDir = "/sys/fs/fuse/connections";
// True when something is mounted exactly at `path`.
bool IsMountPoint(const std::string& path);

// One wtcachefs daemon serving `view` in the foreground. Its stdout and stderr
// are appended to a log file. It gets SIGKILL when the thread that started it
// ends (so a soak that dies leaves only dead mounts, never a daemon), and runs
// in a process group of its own, so a terminal's ^C reaches the soak, which
// unmounts, and not the daemon. One thread drives an instance.
class DaemonMount {
 public:
  // `argv` is the whole command line, binary first, ORIGIN CACHE VIEW -f ...;
  // `view` is VIEW (canonical), `log` the file the daemon's output goes to.
  DaemonMount(std::vector<std::string> argv, std::string view, std::string log);
  // Leaves nothing mounted and no daemon running: unmounts cleanly if it can.
  ~DaemonMount();
  DaemonMount(const DaemonMount&) = delete;
  DaemonMount& operator=(const DaemonMount&) = delete;

  // Starts the daemon and waits up to 60 s for VIEW. "" once mounted; else
  // what went wrong, with the end of the daemon's log.
  std::string Mount();
  // SIGKILL, reaps the daemon, then detaches the dead mount (umount -l), so
  // that programs still using it get errors and VIEW can be mounted again.
  // A daemon still alive 5 s after SIGKILL (a thread stuck in the kernel) is
  // released by aborting its FUSE connection (fusectl's `abort`, what an
  // administrator would do). "" when SIGKILL alone ended it; else what was
  // stuck, with the threads' kernel stacks.
  std::string Kill();
  // Unmounts as a user does (umount, which is fusermount3 -u's call) and waits
  // up to 60 s for the daemon. "" when it exited with status 0; else what
  // happened (the daemon is then killed and the mount detached).
  std::string UnmountCleanly();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& view() const { return view_; }
  const std::string& log() const { return log_; }
  // The command line, for reports.
  std::string CommandLine() const;
  // The last `bytes` of the daemon's log.
  std::string LogTail(size_t bytes = 2000) const;

 private:
  // Waits up to `timeout_ms` for the daemon to exit; its wait status, or
  // nullopt if it is still running.
  std::optional<int> WaitForExit(int timeout_ms);

  std::vector<std::string> argv_;
  std::string view_;
  std::string log_;
  pid_t pid_ = -1;
  std::string connection_;  // the FUSE connection's number (the mount's minor)
};

// Kills a daemon that keeps a phase of the soak waiting too long (a hang in
// wtcachefs), so that the calls waiting on its mount fail instead of waiting
// forever. Arm() and Disarm() come from the thread that owns the daemon, and
// that thread reaps it only while disarmed, so the pid killed is never reused.
class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // From now on, kills `daemon` if Disarm() does not come within `limit`.
  void Arm(std::string phase, pid_t daemon, std::chrono::seconds limit);
  void Disarm();
  // The phase that ran out of time since the last call, if any.
  std::optional<std::string> TakeExpired();

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  bool quit_ = false;                                              // guarded by mutex_
  std::optional<std::chrono::steady_clock::time_point> deadline_;  // guarded by mutex_
  std::string phase_;                                              // guarded by mutex_
  pid_t daemon_ = -1;                                              // guarded by mutex_
  std::optional<std::string> expired_;                             // guarded by mutex_
  std::thread thread_;
};

}  // namespace wtcachefs::crash_soak
