// SPDX-License-Identifier: Apache-2.0
// ChildProcess: runs a program with stdin from /dev/null and stdout/stderr
// captured, for tests that drive the wtcachefs binary and system tools.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace wtcachefs::testing {

struct CommandResult {
  int exit_code = -1;      // -1 when killed by a signal or timed out
  int signal = 0;          // the terminating signal, if any
  bool timed_out = false;
  std::string out;         // stdout
  std::string err;         // stderr
};

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH) with `argv`.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // kills (SIGKILL) and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // What the child has written to stderr so far.
  std::string StderrSoFar() const;
  // True while the child has not exited (reaps it if it has).
  bool Running();
  void Signal(int signal);
  // Waits up to `timeout` for the exit; on timeout kills it (SIGKILL).
  CommandResult Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs a command to completion (killed after `timeout`).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace wtcachefs::testing
