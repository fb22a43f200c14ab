// InodeTable: the inodes the kernel currently knows, keyed by the origin's
// (st_dev, st_ino). Each entry holds an O_PATH fd of the origin object, so the
// origin inode cannot be freed (and its number reused) while the kernel may still
// refer to it. The FUSE node id of an entry is its address; the root is id 1.
//
// Thread safety: all methods may be called from any thread. Get() takes no lock:
// the kernel keeps an id alive (lookup count > 0) while a request names it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct Inode {
  UniqueFd fd;  // O_PATH | O_NOFOLLOW on the origin object; immutable after insert
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t type = 0;          // S_IFMT bits
  uint64_t nlookup = 0;     // GUARDED_BY(InodeTable::mutex_)
};

class InodeTable {
 public:
  static constexpr uint64_t kRootId = 1;  // FUSE_ROOT_ID

  // `root_fd` is an O_PATH fd of ORIGIN's root directory.
  InodeTable(UniqueFd root_fd, const struct stat& root_stat);
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  Inode& Get(uint64_t id);

  // Records one kernel lookup of the object open at `fd` (stat'ed as `st`) and
  // returns its node id. If the object is already known, `fd` is closed.
  uint64_t AddLookup(UniqueFd fd, const struct stat& st);

  // Drops `count` kernel lookups of `id`; the entry is freed at zero.
  void Forget(uint64_t id, uint64_t count);

  size_t size() const;

 private:
  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(k.ino) ^ (std::hash<uint64_t>()(k.dev) << 1);
    }
  };

  Inode root_;
  mutable std::mutex mutex_;  // guards inodes_ and every Inode::nlookup
  std::unordered_map<Key, std::unique_ptr<Inode>, KeyHash> inodes_;
};

}  // namespace wtcachefs
