// SPDX-License-Identifier: Apache-2.0
#include "fuse/default_acl_cache.h"

#include <sys/xattr.h>

#include <string>

namespace wtcachefs {

bool DefaultAclCache::HasDefaultAcl(dev_t dev, ino_t ino, int dir_fd) {
  const OriginFileKey key{dev, ino};
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it != entries_.end() && now - it->second.read_at < lifetime_) return it->second.has_acl;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(dir_fd);
  const bool has_acl = ::getxattr(path.c_str(), "system.posix_acl_default", nullptr, 0) > 0;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_[key] = Entry{has_acl, now};
  return has_acl;
}

void DefaultAclCache::Forget(dev_t dev, ino_t ino) {
  std::lock_guard lock(mutex_);
  entries_.erase(OriginFileKey{dev, ino});
}

}  // namespace wtcachefs
