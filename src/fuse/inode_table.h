// SPDX-License-Identifier: Apache-2.0
// InodeTable: the inodes the kernel currently knows, keyed by the origin's
// (st_dev, st_ino). The FUSE node id of an entry is its address; the root is id 1.
//
// Each entry reaches its origin object through an O_PATH descriptor. Once more
// than `fd_budget` descriptors that can be reopened are open, those of entries
// nobody is using are closed, least recently used first, and reopened when a
// request needs them: the kernel may remember more inodes than the process may
// open files. An entry is reopened
//   - by file handle, where the origin file system keeps handles for an
//     object's whole life (see OriginHandle) and this process may reopen by
//     handle: a handle names the object itself;
//   - elsewhere (FUSE, overlay, no CAP_DAC_READ_SEARCH) by the parent entry and
//     name it was last looked up by, checked against its (st_dev, st_ino), as
//     path-based FUSE file systems work. Renames through the view move that
//     path; an entry whose name is removed or replaced through the view keeps
//     its descriptor from then on. An entry whose path no longer
//     leads to it (renamed or deleted behind the mount's back) answers ESTALE,
//     and the kernel retries path lookups once on ESTALE.
// An entry with neither (the root, one met only by "..") keeps its descriptor.
// A parent lives as long as an entry that is reopened through it.
//
// Each entry also has the inode number the view shows for it (Numbering, see
// fuse/view_inode_numbers.h), fixed when it is added. Two entries known at once
// can share a number only in that scheme's hashed space: the first time they
// do, the table says so (Numbering::on_collision) naming both.
//
// An entry whose descriptor was closed no longer pins its origin inode: if that
// is deleted and its number reused, a lookup of the new object (another handle,
// or another file type) gets an entry of its own; the old one answers ESTALE
// until forgotten.
//
// Thread safety: all methods may be called from any thread. Get() takes no lock:
// the kernel keeps an id alive (lookup count > 0) while a request names it. A
// request replies before its InodeFd ends, and the kernel may forget the inode
// in between: the entry then lives until that InodeFd ends.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "io/origin_handle.h"
#include "wtcachefs/origin_file_key.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

struct Inode {
  dev_t dev = 0;                       // immutable after insert
  ino_t ino = 0;                       // immutable after insert
  mode_t type = 0;                     // S_IFMT bits; immutable after insert
  uint64_t view_ino = 0;               // the number the view shows; immutable after insert
  std::optional<OriginHandle> handle;  // immutable after insert
  // The kernel may hold page cache of this file: it was read other than with
  // O_DIRECT through the view (see ViewState::PageCacheUsed).
  std::atomic<bool> page_cache_used{false};
  // GUARDED_BY(InodeTable::mutex_):
  UniqueFd fd;  // O_PATH | O_NOFOLLOW on the origin object, or closed
  // Without a handle: where the object was last looked up (null: nowhere known).
  Inode* parent = nullptr;
  std::string name;
  uint32_t users = 0;     // InodeFd leases
  uint32_t children = 0;  // entries whose `parent` is this one
  uint64_t nlookup = 0;
  bool counted = false;   // in InodeTable::open_closable_ (open and reopenable)
  bool idle = false;      // in InodeTable::idle_ (counted, no user)
  bool detached = false;  // in InodeTable::detached_, not under its key
  // A regular file: the key of the name it was last looked up as in
  // InodeTable::file_names_ (0: none).
  uint64_t file_name = 0;
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

  // Whether entries may be reopened by file handle where origin keeps them
  // (kNever: by path only, as on a file system without lasting handles).
  enum class Handles { kWhereKept, kNever };

  // How entries are numbered in the view.
  struct Numbering {
    // The view's number of origin object (dev, ino); empty: origin's st_ino.
    // Called without the table's lock held (it may record a device met for
    // the first time).
    std::function<uint64_t(uint64_t dev, uint64_t ino)> number_of;
    // Told once, the first time two objects known at once share a number of
    // the hashed space (IsHashedViewInodeNumber); empty: not looked for.
    std::function<void(const std::string& message)> on_collision;
  };

  // `root_fd` is an O_PATH fd of ORIGIN's root directory; it is never closed.
  InodeTable(UniqueFd root_fd, const struct stat& root_stat, size_t fd_budget,
             Handles handles = Handles::kWhereKept, Numbering numbering = {});
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  Inode& Get(uint64_t id);

  // The O_PATH descriptor of `id`, reopened if it was closed (error ESTALE
  // when the object is gone or its path leads elsewhere).
  InodeFd Open(uint64_t id);

  // Records one kernel lookup of `name` in `parent`, stat'ed by name as `st`,
  // when that object is known with its descriptor open (which pins it: the
  // number cannot name another object meanwhile), and returns its node id;
  // returns 0 (records nothing) otherwise: the caller then opens it.
  uint64_t AddLookupOfOpen(uint64_t parent, std::string_view name, const struct stat& st);
  // Records one kernel lookup of `name` in `parent`, the object open at `fd`
  // (stat'ed as `st`), and returns its node id. If the object is already known,
  // `fd` is closed or takes the place of the entry's closed one.
  uint64_t AddLookup(uint64_t parent, std::string_view name, UniqueFd fd,
                     const struct stat& st);

  // The entry last looked up as `name` in `parent`, opened if it was closed and
  // kept open while the result lives (which holds no entry, error ENOENT, when
  // there is none). Hold it across an unlink, rmdir or rename of that name:
  // no request then reopens the entry by a path that is changing.
  InodeFd KeepOpen(uint64_t parent, std::string_view name);
  // `name` in `parent` was unlinked through the view: the entry last looked up
  // by it keeps its descriptor from now on (it has no other way back).
  void Removed(uint64_t parent, std::string_view name);
  // `name` in `parent` was renamed to `new_name` in `new_parent`: both ways
  // when `exchanged`, else an entry `new_name` named before is Removed().
  void Renamed(uint64_t parent, std::string_view name, uint64_t new_parent,
               std::string_view new_name, bool exchanged);

  // The regular file last looked up as `name` in `parent`, when its
  // descriptor is open and it is not the object stat'ed as `now` (null: the
  // name is gone): the file that name led to before, which may have lost its
  // last link behind the mount (DESIGN W8). Holds no entry (error ENOENT)
  // otherwise. A hash names the entry: it may be another file, rarely.
  InodeFd FileLastLookedUpAs(uint64_t parent, std::string_view name, const struct stat* now);

  // Drops `count` kernel lookups of `id`; the entry is freed at zero.
  void Forget(uint64_t id, uint64_t count);

  // The node id of the entry of origin object (dev, ino), if the kernel knows
  // one. The kernel may forget it at any time: use the id only where a stale
  // one is harmless (a cache invalidation).
  std::optional<uint64_t> IdOf(dev_t dev, ino_t ino) const;

  size_t size() const;
  // Descriptors open now that could be closed and reopened.
  size_t open_closable() const;

 private:
  friend class InodeFd;
  using Key = OriginFileKey;
  using KeyHash = OriginFileKeyHash;
  struct PathKey {
    const Inode* parent;
    std::string name;
    bool operator==(const PathKey&) const = default;
  };
  struct PathKeyHash {
    size_t operator()(const PathKey& k) const {
      return std::hash<std::string>()(k.name) ^ (std::hash<const void*>()(k.parent) << 1);
    }
  };
  // A mount of origin met by a lookup: a descriptor on it (not O_PATH) to
  // reopen handles with, and whether reopening worked there.
  struct Mount {
    UniqueFd fd;
    bool reopens = false;
  };
  using Lock = std::unique_lock<std::mutex>;

  // The handle of the object at `fd`, when entries on its mount may be
  // reopened by handle.
  std::optional<OriginHandle> HandleOf(int fd, const struct stat& st);
  // Ends a lease taken with ++users; frees the entry if nothing refers to it.
  void Release(Inode& inode);
  // The descriptor of `inode`, on which the caller took a lease (++users);
  // `lock` is held on entry and on return, and released while reopening.
  InodeFd OpenLeasedLocked(Inode& inode, Lock& lock);
  // Records `name` in `parent` as the way back to `inode` (entries without a
  // handle). Returns the former parent, for MaybeFreeLocked() once done.
  Inode* SetPathLocked(Inode& inode, Inode* parent, std::string_view name);
  Inode* ClearPathLocked(Inode& inode);
  Inode* FindPathLocked(uint64_t parent, std::string_view name);
  static uint64_t FileNameKey(uint64_t parent, std::string_view name);
  // Notes that regular file `inode` was looked up as `name` in `parent`.
  void NoteFileNameLocked(Inode& inode, uint64_t parent, std::string_view name);
  // Brings `open_closable_` and the idle list in line with `inode`'s state.
  void SyncLocked(Inode& inode);
  void MaybeFreeLocked(Inode* inode);
  void CloseOverBudgetLocked();
  // Notes new entry `inode` (open at `fd`, looked up as `name`) as holder of its
  // view number when that is hashed; returns the collision message to report
  // (once per table) when another object holds it, else "".
  std::string NoteHashedNumberLocked(Inode& inode, int fd, std::string_view name);

  const size_t fd_budget_;
  const Handles handles_;
  const Numbering numbering_;
  Inode root_;
  mutable std::mutex mutex_;  // guards everything below and each Inode's mutable part
  std::unordered_map<Key, std::unique_ptr<Inode>, KeyHash> inodes_;
  // Entries no longer under their key: a newer object took it.
  std::unordered_map<Inode*, std::unique_ptr<Inode>> detached_;
  std::unordered_map<PathKey, Inode*, PathKeyHash> paths_;  // each entry's `parent`, `name`
  // Regular files by the key of the name they were last looked up as.
  std::unordered_map<uint64_t, Inode*> file_names_;
  std::unordered_map<int, Mount> mounts_;  // by mount id
  std::unordered_map<dev_t, bool> keeps_handles_;  // by device: its file system keeps handles
  std::list<Inode*> idle_;                 // most recently used first
  size_t open_closable_ = 0;
  // Entries by their view number, where that is hashed (with on_collision only).
  std::unordered_map<uint64_t, Inode*> hashed_numbers_;
  bool collision_reported_ = false;
};

}  // namespace wtcachefs
