// SPDX-License-Identifier: Apache-2.0
#include "cache_dir/cache_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string_view>
#include <thread>

#include "cache_dir/mount_table.h"

namespace wtcachefs {
namespace {

constexpr char kLockFile[] = "/lock";
constexpr std::chrono::milliseconds kPollEvery{50};
// A holder that took the lock an instant ago may not have named itself yet.
constexpr std::chrono::milliseconds kUnnamedHolderGrace{1000};

// "pid N" and, when it has one, " serving 'VIEW'", for messages.
std::string Describe(const CacheLockHolder& holder) {
  std::string text = holder.pid > 0 ? "pid " + std::to_string(holder.pid) : "pid unknown";
  if (!holder.view.empty()) text += ", view '" + holder.view + "'";
  if (holder.state == HolderState::kStarting) text += ", starting";
  return text;
}

Status InUse(const std::string& dir, const std::optional<CacheLockHolder>& holder) {
  return Status::Error(EBUSY, "cache '" + dir + "' is in use by another wtcachefs mount" +
                                  (holder && holder->pid > 0 ? " (" + Describe(*holder) + ")"
                                                             : std::string()) +
                                  ": unmount it first, or use another cache directory");
}

// True when the holder's view is mounted, as the holder's own mount namespace
// sees it.
bool ViewStillMounted(const CacheLockHolder& holder) {
  return FindMountAt(holder.view, MountinfoOf(holder.pid)).has_value();
}

constexpr std::string_view kStatePrefix = "state=";

std::string_view StateName(HolderState state) {
  switch (state) {
    case HolderState::kStarting: return "starting";
    case HolderState::kServing: return "serving";
    case HolderState::kDegraded: return "degraded";
    case HolderState::kLeaving: return "leaving";
    case HolderState::kUnknown: break;
  }
  return "unknown";
}

}  // namespace

std::optional<CacheLockHolder> ReadCacheLockHolder(const std::string& dir) {
  std::ifstream file(dir + kLockFile);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t end_of_pid = text.find('\n');
  if (end_of_pid == std::string::npos) return std::nullopt;
  CacheLockHolder holder;
  const auto [rest, ec] = std::from_chars(text.data(), text.data() + end_of_pid, holder.pid);
  if (ec != std::errc() || rest != text.data() + end_of_pid) return std::nullopt;
  size_t view_begins = end_of_pid + 1;
  // The state line (a view is an absolute path, so it never starts so).
  if (std::string_view(text).substr(view_begins).starts_with(kStatePrefix)) {
    const size_t end_of_state = text.find('\n', view_begins);
    if (end_of_state == std::string::npos) return std::nullopt;
    const std::string_view name = std::string_view(text).substr(
        view_begins + kStatePrefix.size(), end_of_state - view_begins - kStatePrefix.size());
    for (HolderState state : {HolderState::kStarting, HolderState::kServing,
                              HolderState::kDegraded, HolderState::kLeaving}) {
      if (name == StateName(state)) holder.state = state;
    }
    view_begins = end_of_state + 1;
  }
  // The view, which may hold newlines itself, ends with the file's last one.
  if (text.size() > view_begins && text.back() == '\n') {
    holder.view = text.substr(view_begins, text.size() - view_begins - 1);
  }
  return holder;
}

void RecordHolderState(int lock_fd, const std::string& view, HolderState state) {
  // Written over the old contents, then cut to length: the file never looks
  // empty to a reader.
  const std::string holder = std::to_string(::getpid()) + "\n" + std::string(kStatePrefix) +
                             std::string(StateName(state)) + "\n" + view + "\n";
  if (::pwrite(lock_fd, holder.data(), holder.size(), 0) < 0 ||
      ::ftruncate(lock_fd, static_cast<off_t>(holder.size())) != 0) {
    // The holder is only a hint for the messages of others.
  }
  if (state == HolderState::kDegraded) (void)::fdatasync(lock_fd);
}

Result<UniqueFd> LockCacheDirectory(const std::string& dir, const CacheLockRequest& request) {
  const std::string path = dir + kLockFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status::FromErrno("cannot create the lock file '" + path + "'");
  const auto started = std::chrono::steady_clock::now();
  bool announced = false;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno("cannot lock cache '" + dir + "'");
    const std::optional<CacheLockHolder> holder = ReadCacheLockHolder(dir);
    const auto waited = std::chrono::steady_clock::now() - started;
    if (!holder) {
      if (waited >= kUnnamedHolderGrace) return InUse(dir, holder);
    } else if (holder->view.empty() || holder->state == HolderState::kStarting ||
               ViewStillMounted(*holder)) {
      return InUse(dir, holder);
    } else if (waited >= request.wait_for_leaving_holder) {
      return Status::Error(
          EBUSY, "cache '" + dir + "' is still held by the wtcachefs that served '" +
                     holder->view + "' (pid " + std::to_string(holder->pid) + ") " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited)
                                        .count()) +
                     " s after that view was unmounted: wait until that process has exited, "
                     "then mount again");
    } else if (!announced && waited >= request.announce_after) {
      announced = true;
      if (request.on_wait) {
        request.on_wait("waiting for the previous wtcachefs (pid " +
                        std::to_string(holder->pid) + ") to release cache '" + dir +
                        "': its view '" + holder->view + "' is unmounted and it is still "
                        "shutting down");
      }
    }
    std::this_thread::sleep_for(kPollEvery);
  }
  RecordHolderState(fd.get(), request.view, HolderState::kStarting);
  return fd;
}

}  // namespace wtcachefs
