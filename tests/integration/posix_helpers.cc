// SPDX-License-Identifier: Apache-2.0
#include "integration/posix_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wtcachefs::testing {

int ErrnoOf(const std::function<long()>& op) {
  errno = 0;
  return op() < 0 ? errno : 0;
}

std::string ErrnoName(int error) {
  if (error == 0) return "0";
  const char* name = ::strerrorname_np(error);
  return std::string(name != nullptr ? name : std::to_string(error).c_str()) + " (" +
         std::strerror(error) + ")";
}

int ErrnoAs(const Identity& who, const std::function<long()>& op) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return kChildFailed;
  const pid_t child = ::fork();
  if (child < 0) return kChildFailed;
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgroups(who.groups.size(), who.groups.data()) != 0 ||
        ::setresgid(who.gid, who.gid, who.gid) != 0 ||
        ::setresuid(who.uid, who.uid, who.uid) != 0) {
      ::_exit(1);
    }
    const int error = ErrnoOf(op);
    const bool sent = ::write(pipe_fds[1], &error, sizeof(error)) == sizeof(error);
    ::_exit(sent ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  int error = kChildFailed;
  const bool received = ::read(pipe_fds[0], &error, sizeof(error)) == sizeof(error);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return kChildFailed;
  return error;
}

long OpenClose(const std::string& path, int flags, mode_t mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  ::close(fd);
  return 0;
}

std::vector<std::pair<off_t, off_t>> DataMap(int fd) {
  std::vector<std::pair<off_t, off_t>> extents;
  off_t at = 0;
  while (true) {
    const off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) extents.emplace_back(-1, errno);
      break;
    }
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      extents.emplace_back(-1, errno);
      break;
    }
    extents.emplace_back(data, hole);
    at = hole;
  }
  return extents;
}

std::vector<std::string> SortedListing(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    ADD_FAILURE() << "opendir " << path << ": " << ErrnoName(errno);
    return names;
  }
  while (const dirent* entry = ::readdir(dir)) names.emplace_back(entry->d_name);
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

struct stat LstatOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "lstat " << path << ": " << ErrnoName(errno);
    st = {};
  }
  return st;
}

void PosixViewTest::SetUp() {
  ASSERT_TRUE(mount_.ok()) << mount_.failure();
  // Other users must be able to reach VIEW and the reference directory.
  ASSERT_EQ(::chmod(mount_.dir().path().c_str(), 0755), 0);
}

int ExpectSameErrnoIn(const std::function<long(const std::string&)>& op,
                      const std::string& view, const std::string& reference,
                      const std::string& rel) {
  const int view_errno = ErrnoOf([&] { return op(view + "/" + rel); });
  const int reference_errno = ErrnoOf([&] { return op(reference + "/" + rel); });
  EXPECT_EQ(ErrnoName(view_errno), ErrnoName(reference_errno))
      << "'" << rel << "': the view and the reference directory disagree";
  return view_errno;
}

int PosixViewTest::ExpectSameErrno(const std::function<long(const std::string&)>& op,
                                   const std::string& rel) {
  return ExpectSameErrnoIn(op, mount_.view(), reference_, rel);
}

int PosixViewTest::ExpectSameErrnoAs(const Identity& who,
                                     const std::function<long(const std::string&)>& op,
                                     const std::string& rel) {
  const int view_errno = ErrnoAs(who, [&] { return op(V(rel)); });
  const int reference_errno = ErrnoAs(who, [&] { return op(R(rel)); });
  EXPECT_NE(view_errno, kChildFailed) << "could not run as uid " << who.uid;
  EXPECT_EQ(ErrnoName(view_errno), ErrnoName(reference_errno))
      << "'" << rel << "' as uid " << who.uid << " gid " << who.gid
      << ": the view and the reference directory disagree";
  return view_errno;
}

}  // namespace wtcachefs::testing
