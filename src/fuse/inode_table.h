// InodeTable: the inodes the kernel currently knows, keyed by the origin's
// (st_dev, st_ino). The FUSE node id of an entry is its address; the root is id 1.
//
// Each entry reaches its origin object through an O_PATH descriptor. Where the
// origin file system keeps file handles for an object's whole life (see
// OriginHandle) and this process may reopen by handle, the descriptors of
// entries nobody is using are closed once more than `fd_budget` are open, least
// recently used first, and reopened by handle when needed: the kernel may
// remember more inodes than the process may open files. Elsewhere (FUSE,
// overlay, no CAP_DAC_READ_SEARCH) an entry keeps its descriptor until forgotten,
// which also keeps the origin inode, and so its number, from being reused.
//
// An entry whose descriptor was closed no longer pins its origin inode: if that
// is deleted and its number reused, a lookup of the new object compares handles
// and gets an entry of its own; the old one answers ESTALE until forgotten.
//
// Thread safety: all methods may be called from any thread. Get() takes no lock:
// the kernel keeps an id alive (lookup count > 0) while a request names it. A
// request replies before its InodeFd ends, and the kernel may forget the inode
// in between: the entry then lives until that InodeFd ends.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "fuse/origin_handle.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct Inode {
  dev_t dev = 0;                       // immutable after insert
  ino_t ino = 0;                       // immutable after insert
  mode_t type = 0;                     // S_IFMT bits; immutable after insert
  std::optional<OriginHandle> handle;  // immutable after insert; set: `fd` may be closed
  // GUARDED_BY(InodeTable::mutex_):
  UniqueFd fd;  // O_PATH | O_NOFOLLOW on the origin object, or closed
  uint32_t users = 0;
  uint64_t nlookup = 0;
  bool idle = false;  // in InodeTable::idle_ (has a handle, an open fd, no user)
  bool detached = false;  // in InodeTable::detached_, not under its key
  bool forgotten = false;  // the kernel forgot it; freed when the last lease ends
  std::list<Inode*>::iterator idle_at;
};

class InodeTable;

// An inode's O_PATH descriptor, kept open while this lives. get() is only
// valid when error() is 0.
class InodeFd {
 public:
  InodeFd(InodeFd&& other) noexcept;
  InodeFd& operator=(InodeFd&&) = delete;
  InodeFd(const InodeFd&) = delete;
  ~InodeFd();

  int get() const { return fd_; }
  int error() const { return error_; }

 private:
  friend class InodeTable;
  InodeFd(InodeTable* table, Inode* inode, int fd, int error)
      : table_(table), inode_(inode), fd_(fd), error_(error) {}

  InodeTable* table_;
  Inode* inode_;  // null: nothing to release
  int fd_;
  int error_;
};

class InodeTable {
 public:
  static constexpr uint64_t kRootId = 1;  // FUSE_ROOT_ID

  // `root_fd` is an O_PATH fd of ORIGIN's root directory; it is never closed.
  InodeTable(UniqueFd root_fd, const struct stat& root_stat, size_t fd_budget);
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  Inode& Get(uint64_t id);

  // The O_PATH descriptor of `id`, reopened by handle if it was closed
  // (error ESTALE when the object is gone).
  InodeFd Open(uint64_t id);

  // Records one kernel lookup of the object open at `fd` (stat'ed as `st`) and
  // returns its node id. If the object is already known, `fd` is closed or
  // takes the place of the entry's closed one.
  uint64_t AddLookup(UniqueFd fd, const struct stat& st);

  // Drops `count` kernel lookups of `id`; the entry is freed at zero.
  void Forget(uint64_t id, uint64_t count);

  size_t size() const;
  // Descriptors of entries with a handle that are open now.
  size_t open_closable() const;

 private:
  friend class InodeFd;
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
  // A mount of origin met by a lookup: a descriptor on it (not O_PATH) to
  // reopen handles with, and whether reopening worked there.
  struct Mount {
    UniqueFd fd;
    bool reopens = false;
  };

  // The handle of the object at `fd`, when entries on its mount may close
  // their descriptors.
  std::optional<OriginHandle> HandleOf(int fd, const struct stat& st);
  void Release(Inode& inode);
  // Frees an entry nobody refers to any more.
  void FreeLocked(Inode& inode);
  void SetFdLocked(Inode& inode, UniqueFd fd);
  void MakeBusyLocked(Inode& inode);
  void CloseOverBudgetLocked();

  const size_t fd_budget_;
  Inode root_;
  mutable std::mutex mutex_;  // guards everything below and each Inode's mutable part
  std::unordered_map<Key, std::unique_ptr<Inode>, KeyHash> inodes_;
  // Entries no longer under their key: a newer object took it, or the kernel
  // forgot them while a request still held their fd.
  std::unordered_map<Inode*, std::unique_ptr<Inode>> detached_;
  std::unordered_map<int, Mount> mounts_;  // by mount id
  std::unordered_map<dev_t, bool> keeps_handles_;  // by device: its file system keeps handles
  std::list<Inode*> idle_;                 // most recently used first
  size_t open_closable_ = 0;
};

}  // namespace wtcachefs
