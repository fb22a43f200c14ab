// SPDX-License-Identifier: Apache-2.0
// A crash of the engine in a test: a child process runs the engine and is
// killed with SIGKILL while it is alive (no clean shutdown, no destructors).
//
// Thread safety: call from a test's main thread (fork).
#pragma once

#include <functional>

namespace wtcachefs::testing {

// Kills the calling process at once.
[[noreturn]] void DieNow();

// Runs `body` in a child process, which it must end by calling DieNow() while
// its engine is alive; fails the test when the child ended otherwise.
void RunAndKill(const std::function<void()>& body);

}  // namespace wtcachefs::testing
