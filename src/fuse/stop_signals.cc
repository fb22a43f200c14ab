// SPDX-License-Identifier: Apache-2.0
#include "fuse/stop_signals.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>

namespace wtcachefs {
namespace {

std::atomic<fuse_session*> g_session{nullptr};
pthread_t g_loop_thread;  // written before g_session is published

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

void OnStopSignal(int signal_number) {
  const int saved_errno = errno;
  fuse_session* session = g_session.load(std::memory_order_acquire);
  if (session != nullptr) {
    fuse_session_exit(session);
    if (!pthread_equal(pthread_self(), g_loop_thread)) {
      pthread_kill(g_loop_thread, signal_number);
    }
  }
  errno = saved_errno;
}

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : kStopSignals) sigaddset(&set, signal_number);
  return set;
}

}  // namespace

void StopSignals::BlockForStartup() {
  const sigset_t stop_set = StopSet();
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
}

int StopSignals::Install(fuse_session* session) {
  g_loop_thread = pthread_self();
  g_session.store(session, std::memory_order_release);

  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : kStopSignals) {
    if (sigaction(signal_number, &action, nullptr) != 0) return -errno;
  }
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (sigaction(SIGPIPE, &ignore, nullptr) != 0) return -errno;

  const sigset_t stop_set = StopSet();
  return -pthread_sigmask(SIG_UNBLOCK, &stop_set, nullptr);
}

void StopSignals::Release() { g_session.store(nullptr, std::memory_order_release); }

}  // namespace wtcachefs
