// SPDX-License-Identifier: Apache-2.0
// Shared helpers for the posix_* integration tests. Each test acts through a real
// VIEW (MountedView, mounted with allow_other so other users may use it) and
// checks the outcome against ORIGIN and against the same operation done on a
// plain reference directory on the same filesystem: same result, same errno.
//
// Test suites are named posix_<topic> after their file, so `ctest -R posix`
// selects them.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "support/mounted_view.h"

namespace wtcachefs::testing {

// 0 when `op` returns >= 0, else the errno it left.
int ErrnoOf(const std::function<long()>& op);

// "EACCES (Permission denied)" for failure messages; "0" for success.
std::string ErrnoName(int error);

// A process identity for ErrnoAs.
struct Identity {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // supplementary groups
};
inline Identity Nobody() { return {65534, 65534, {}}; }

// Returned by ErrnoAs when the child could not take the identity or died.
inline constexpr int kChildFailed = -1;

// Forks; the child drops to `who` (setgroups, setresgid, setresuid), runs `op`
// and sends ErrnoOf(op) back through a pipe. Returns that errno, or kChildFailed.
int ErrnoAs(const Identity& who, const std::function<long()>& op);

// Runs op(view/rel) and op(reference/rel), expects the same errno and returns
// the view's, so the caller can also state which errno the promise is about.
int ExpectSameErrnoIn(const std::function<long(const std::string&)>& op,
                      const std::string& view, const std::string& reference,
                      const std::string& rel);

// open(2) then close(2): 0, or -1 with the open's errno. Tests never leave a
// descriptor open on VIEW by accident (it would keep the view busy at unmount).
long OpenClose(const std::string& path, int flags, mode_t mode = 0644);

// The (data start, hole start) extents of `fd` from offset 0 to EOF, found with
// SEEK_DATA / SEEK_HOLE; {{-1, errno}} when a seek fails other than ENXIO.
std::vector<std::pair<off_t, off_t>> DataMap(int fd);

// The names in `dir` (including "." and ".."), sorted.
std::vector<std::string> SortedListing(const std::string& dir);

// lstat(2) of `path`; records a test failure (and returns zeros) on error.
struct stat LstatOf(const std::string& path);

// Fixture: a view of a fresh origin, mounted with allow_other, plus a reference
// directory beside ORIGIN. The temporary directory is opened to other users.
// Sets the process umask for its lifetime (a daemon started meanwhile inherits it).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

class PosixViewTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::string V(const std::string& rel) const { return mount_.ViewPath(rel); }
  std::string O(const std::string& rel) const { return mount_.OriginPath(rel); }
  std::string R(const std::string& rel) const { return reference_ + "/" + rel; }

  // Runs op(V(rel)) and op(R(rel)), expects the same errno and returns the
  // view's, so the caller can also state which errno the promise is about.
  int ExpectSameErrno(const std::function<long(const std::string&)>& op,
                      const std::string& rel);
  // The same, with both operations run as `who`.
  int ExpectSameErrnoAs(const Identity& who,
                        const std::function<long(const std::string&)>& op,
                        const std::string& rel);

  MountedView mount_{{"-o", "allow_other"}};
  std::string reference_ = mount_.dir().Sub("reference");
};

}  // namespace wtcachefs::testing
