// SPDX-License-Identifier: Apache-2.0
#include "support/crash_child.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wtcachefs::testing {

void DieNow() {
  ::kill(::getpid(), SIGKILL);
  ::_exit(99);
}

void RunAndKill(const std::function<void()>& body) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    body();
    ::_exit(98);  // the body returned: its engine closed cleanly
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited on its own: " << WEXITSTATUS(status);
}

}  // namespace wtcachefs::testing
