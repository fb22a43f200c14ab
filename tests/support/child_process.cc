// SPDX-License-Identifier: Apache-2.0
#include "support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "support/temp_dir.h"

namespace wtcachefs::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  char out_templ[] = "/tmp/wtcachefs-child-out-XXXXXX";
  char err_templ[] = "/tmp/wtcachefs-child-err-XXXXXX";
  const int out_fd = ::mkstemp(out_templ);
  const int err_fd = ::mkstemp(err_templ);
  out_path_ = out_templ;
  err_path_ = err_templ;
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  ::unlink(out_path_.c_str());
  ::unlink(err_path_.c_str());
}

bool ChildProcess::Running() {
  if (status_ || pid_ <= 0) return false;
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

void ChildProcess::Signal(int signal) {
  if (Running()) ::kill(pid_, signal);
}

std::string ChildProcess::StderrSoFar() const { return ReadFile(err_path_); }

CommandResult ChildProcess::Wait(std::chrono::milliseconds timeout) {
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (Running()) {
    result.timed_out = true;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    status_ = status;
  }
  if (status_ && WIFEXITED(*status_) && !result.timed_out) {
    result.exit_code = WEXITSTATUS(*status_);
  } else if (status_ && WIFSIGNALED(*status_)) {
    result.signal = WTERMSIG(*status_);
  }
  result.out = ReadFile(out_path_);
  result.err = ReadFile(err_path_);
  return result;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout) {
  ChildProcess child(argv);
  return child.Wait(timeout);
}

}  // namespace wtcachefs::testing
