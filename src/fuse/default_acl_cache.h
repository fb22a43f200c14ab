// SPDX-License-Identifier: Apache-2.0
// DefaultAclCache: whether an ORIGIN directory has a default ACL, which
// decides whether a file created in it takes the caller's umask (the kernel
// leaves the umask to the file system: FUSE_DONT_MASK). Reading it is an
// extended-attribute lookup through /proc for every create; the answer is
// kept per directory for `lifetime`, the attribute timeout: a default ACL
// set or removed through the view is seen at once (Forget), one set behind
// the mount within the lifetime, as the kernel's own attribute cache does.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "wtcachefs/origin_file_key.h"

namespace wtcachefs {

class DefaultAclCache {
 public:
  explicit DefaultAclCache(std::chrono::nanoseconds lifetime) : lifetime_(lifetime) {}

  // Whether directory (dev, ino), open as O_PATH descriptor `dir_fd`, has a
  // default ACL.
  bool HasDefaultAcl(dev_t dev, ino_t ino, int dir_fd);
  // Its default ACL was set or removed through the view.
  void Forget(dev_t dev, ino_t ino);

 private:
  using Clock = std::chrono::steady_clock;
  // Directories remembered at most: a tree's worth of recent ones.
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    bool has_acl;
    Clock::time_point read_at;
  };

  const std::chrono::nanoseconds lifetime_;
  std::mutex mutex_;
  std::unordered_map<OriginFileKey, Entry, OriginFileKeyHash> entries_;  // GUARDED_BY(mutex_)
};

}  // namespace wtcachefs
