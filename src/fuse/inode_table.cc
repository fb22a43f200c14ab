// SPDX-License-Identifier: Apache-2.0
#include "fuse/inode_table.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "fuse/view_inode_numbers.h"

namespace wtcachefs {
namespace {

bool Reopenable(const Inode& inode) {
  return inode.handle.has_value() || inode.parent != nullptr;
}

// The object `name` in `dir_fd` names, if it is still `inode`'s (error ESTALE
// when the name is gone or leads elsewhere).
UniqueFd ReopenByPath(int dir_fd, const std::string& name, const Inode& inode, int* error) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstatat(fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    *error = errno == ENOENT || errno == ENOTDIR ? ESTALE : errno;
    return UniqueFd();
  }
  if (st.st_dev != inode.dev || st.st_ino != inode.ino || (st.st_mode & S_IFMT) != inode.type) {
    *error = ESTALE;
    return UniqueFd();
  }
  *error = 0;
  return fd;
}

// "'PATH' (device MAJOR:MINOR, inode N)" for a message; the path where `fd`
// (-1: none known) is open.
std::string Describe(const Inode& inode, int fd) {
  std::string path;
  if (fd >= 0) {
    char target[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target));
    if (n > 0) path = "'" + std::string(target, static_cast<size_t>(n)) + "' ";
  }
  return path + "(device " + std::to_string(major(inode.dev)) + ":" +
         std::to_string(minor(inode.dev)) + ", inode " + std::to_string(inode.ino) + ")";
}

}  // namespace

InodeFd::InodeFd(InodeFd&& other) noexcept
    : table_(other.table_),
      inode_(std::exchange(other.inode_, nullptr)),
      fd_(other.fd_),
      error_(other.error_) {}

InodeFd::~InodeFd() {
  if (inode_ != nullptr) table_->Release(*inode_);
}

InodeTable::InodeTable(UniqueFd root_fd, const struct stat& root_stat, size_t fd_budget,
                       Handles handles, Numbering numbering)
    : fd_budget_(fd_budget), handles_(handles), numbering_(std::move(numbering)) {
  root_.fd = std::move(root_fd);
  root_.dev = root_stat.st_dev;
  root_.ino = root_stat.st_ino;
  root_.type = root_stat.st_mode & S_IFMT;
  root_.view_ino = numbering_.number_of ? numbering_.number_of(root_.dev, root_.ino) : root_.ino;
  root_.nlookup = 1;  // never forgotten
  if (numbering_.on_collision && IsHashedViewInodeNumber(root_.view_ino)) {
    hashed_numbers_.emplace(root_.view_ino, &root_);
  }
  if (handles_ == Handles::kWhereKept) {
    (void)HandleOf(root_.fd.get(), root_stat);  // meets ORIGIN's mount before its files
  }
}

Inode& InodeTable::Get(uint64_t id) {
  if (id == kRootId) return root_;
  return *reinterpret_cast<Inode*>(id);
}

InodeFd InodeTable::Open(uint64_t id) {
  if (id == kRootId) return InodeFd(this, nullptr, root_.fd.get(), 0);  // never closed
  Inode& inode = Get(id);
  Lock lock(mutex_);
  ++inode.users;
  SyncLocked(inode);
  return OpenLeasedLocked(inode, lock);
}

InodeFd InodeTable::OpenLeasedLocked(Inode& inode, Lock& lock) {
  if (inode.fd.valid()) return InodeFd(this, &inode, inode.fd.get(), 0);
  int error = ESTALE;
  UniqueFd fd;
  if (inode.handle) {
    // The mount's descriptor lives as long as the table.
    const int mount_fd = mounts_.at(inode.handle->mount_id()).fd.get();
    lock.unlock();
    fd = inode.handle->Reopen(mount_fd, &error);
    lock.lock();
  } else {
    // By path: once more if the entry was moved meanwhile.
    for (int attempt = 0; attempt < 2 && inode.parent != nullptr; ++attempt) {
      Inode* const parent = inode.parent;
      const std::string name = inode.name;
      ++parent->users;
      SyncLocked(*parent);
      bool name_leads_elsewhere = false;
      {
        const InodeFd dir = OpenLeasedLocked(*parent, lock);
        lock.unlock();
        if (dir.error() != 0) {
          error = dir.error();
        } else {
          fd = ReopenByPath(dir.get(), name, inode, &error);
          name_leads_elsewhere = error == ESTALE;
        }
      }
      lock.lock();
      if (fd.valid() || inode.fd.valid()) break;
      if (inode.parent == parent && inode.name == name) {
        // Not moved meanwhile. A name that leads elsewhere is no way back to
        // this entry; a stale parent may be found again by a lookup.
        if (name_leads_elsewhere) MaybeFreeLocked(ClearPathLocked(inode));
        break;
      }
    }
  }
  if (!inode.fd.valid() && fd.valid()) {
    inode.fd = std::move(fd);
    SyncLocked(inode);
    CloseOverBudgetLocked();
  }
  if (!inode.fd.valid()) return InodeFd(this, &inode, -1, error != 0 ? error : ESTALE);
  return InodeFd(this, &inode, inode.fd.get(), 0);
}

std::optional<OriginHandle> InodeTable::HandleOf(int fd, const struct stat& st) {
  bool keeps_handles;
  {
    std::lock_guard lock(mutex_);
    const auto known = keeps_handles_.find(st.st_dev);
    keeps_handles = known != keeps_handles_.end() && known->second;
    if (known == keeps_handles_.end()) {
      keeps_handles = OriginHandle::FileSystemKeepsHandles(fd);
      keeps_handles_.emplace(st.st_dev, keeps_handles);
    }
  }
  if (!keeps_handles) return std::nullopt;
  std::optional<OriginHandle> handle = OriginHandle::OfKnownKind(fd);
  if (!handle) return std::nullopt;
  const mode_t type = st.st_mode & S_IFMT;
  std::lock_guard lock(mutex_);
  auto known = mounts_.find(handle->mount_id());
  if (known == mounts_.end()) {
    // A mount is first met at a directory (its root, or one on the way there).
    // Reopening needs a descriptor on the mount that is not O_PATH; a
    // directory's costs nothing to open. Probed once: may this process reopen
    // by handle there (CAP_DAC_READ_SEARCH)?
    if (type != S_IFDIR) return std::nullopt;
    Mount mount;
    mount.fd.reset(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int error = 0;
    mount.reopens = mount.fd.valid() && handle->Reopen(mount.fd.get(), &error).valid();
    known = mounts_.emplace(handle->mount_id(), std::move(mount)).first;
  }
  if (!known->second.reopens) return std::nullopt;
  return handle;
}

uint64_t InodeTable::AddLookupOfOpen(uint64_t parent_id, std::string_view name,
                                     const struct stat& st) {
  if (st.st_dev == root_.dev && st.st_ino == root_.ino) return kRootId;
  // "." and ".." are no way back to an entry.
  Inode* const parent = name == "." || name == ".." ? nullptr : &Get(parent_id);
  // A known entry whose descriptor is open pins its object: the same one.
  std::lock_guard lock(mutex_);
  const auto known = inodes_.find(Key{st.st_dev, st.st_ino});
  if (known == inodes_.end() || !known->second->fd.valid()) return 0;
  Inode& inode = *known->second;
  ++inode.nlookup;
  if (parent != nullptr && S_ISREG(st.st_mode)) NoteFileNameLocked(inode, parent_id, name);
  if (parent != nullptr) MaybeFreeLocked(SetPathLocked(inode, parent, name));
  CloseOverBudgetLocked();  // a path makes an open entry closable
  return reinterpret_cast<uint64_t>(&inode);
}

uint64_t InodeTable::AddLookup(uint64_t parent_id, std::string_view name, UniqueFd fd,
                               const struct stat& st) {
  if (const uint64_t id = AddLookupOfOpen(parent_id, name, st)) return id;
  Inode* const parent = name == "." || name == ".." ? nullptr : &Get(parent_id);
  const Key key{st.st_dev, st.st_ino};
  std::optional<OriginHandle> handle;
  if (handles_ == Handles::kWhereKept) handle = HandleOf(fd.get(), st);
  const mode_t type = st.st_mode & S_IFMT;
  const uint64_t view_ino =
      numbering_.number_of ? numbering_.number_of(st.st_dev, st.st_ino) : st.st_ino;
  std::string collision;
  Lock lock(mutex_);
  auto& slot = inodes_[key];
  if (slot && !slot->fd.valid() &&
      (slot->type != type || (slot->handle && handle && *slot->handle != *handle))) {
    // Only possible once the old entry's descriptor was closed: its object is
    // gone and the number was reused. The kernel keeps the old id until it
    // forgets it; the key now names the new object.
    slot->detached = true;
    Inode* old = slot.get();
    detached_.emplace(old, std::move(slot));
  }
  if (!slot) {
    slot = std::make_unique<Inode>();
    slot->dev = key.dev;
    slot->ino = key.ino;
    slot->type = type;
    slot->view_ino = view_ino;
    slot->handle = std::move(handle);
    collision = NoteHashedNumberLocked(*slot, fd.get(), name);
  }
  Inode& inode = *slot;
  ++inode.nlookup;
  if (!inode.fd.valid()) inode.fd = std::move(fd);
  if (parent != nullptr && S_ISREG(st.st_mode)) NoteFileNameLocked(inode, parent_id, name);
  Inode* const former = parent != nullptr ? SetPathLocked(inode, parent, name) : nullptr;
  SyncLocked(inode);
  MaybeFreeLocked(former);
  CloseOverBudgetLocked();
  const uint64_t id = reinterpret_cast<uint64_t>(&inode);
  lock.unlock();
  if (!collision.empty()) numbering_.on_collision(collision);
  return id;
}

InodeFd InodeTable::KeepOpen(uint64_t parent, std::string_view name) {
  Lock lock(mutex_);
  Inode* const inode = FindPathLocked(parent, name);
  if (inode == nullptr) return InodeFd(this, nullptr, -1, ENOENT);
  ++inode->users;
  SyncLocked(*inode);
  return OpenLeasedLocked(*inode, lock);
}

void InodeTable::Removed(uint64_t parent, std::string_view name) {
  std::lock_guard lock(mutex_);
  Inode* const inode = FindPathLocked(parent, name);
  if (inode != nullptr) (void)ClearPathLocked(*inode);  // the caller's lease keeps `parent`
}

void InodeTable::Renamed(uint64_t parent, std::string_view name, uint64_t new_parent,
                         std::string_view new_name, bool exchanged) {
  std::lock_guard lock(mutex_);
  Inode* const moved = FindPathLocked(parent, name);
  Inode* const replaced = FindPathLocked(new_parent, new_name);
  // The caller's leases keep both parents: none of them is freed here.
  if (moved != nullptr) (void)ClearPathLocked(*moved);
  if (replaced != nullptr) (void)ClearPathLocked(*replaced);
  if (moved != nullptr) (void)SetPathLocked(*moved, &Get(new_parent), new_name);
  if (replaced != nullptr && exchanged) (void)SetPathLocked(*replaced, &Get(parent), name);
}

uint64_t InodeTable::FileNameKey(uint64_t parent, std::string_view name) {
  const uint64_t key = std::hash<std::string_view>()(name) ^ (parent * 0x9e3779b97f4a7c15ull);
  return key != 0 ? key : 1;
}

void InodeTable::NoteFileNameLocked(Inode& inode, uint64_t parent, std::string_view name) {
  const uint64_t key = FileNameKey(parent, name);
  if (inode.file_name == key) return;
  if (inode.file_name != 0) {
    const auto it = file_names_.find(inode.file_name);
    if (it != file_names_.end() && it->second == &inode) file_names_.erase(it);
  }
  inode.file_name = key;
  file_names_[key] = &inode;
}

InodeFd InodeTable::FileLastLookedUpAs(uint64_t parent, std::string_view name,
                                       const struct stat* now) {
  Lock lock(mutex_);
  const auto it = file_names_.find(FileNameKey(parent, name));
  if (it == file_names_.end()) return InodeFd(this, nullptr, -1, ENOENT);
  Inode& inode = *it->second;
  if (now != nullptr && inode.dev == now->st_dev && inode.ino == now->st_ino) {
    return InodeFd(this, nullptr, -1, ENOENT);
  }
  // The name leads elsewhere now: it is the file's no more.
  file_names_.erase(it);
  inode.file_name = 0;
  if (!inode.fd.valid()) return InodeFd(this, nullptr, -1, ENOENT);
  ++inode.users;
  SyncLocked(inode);
  return OpenLeasedLocked(inode, lock);
}

void InodeTable::Forget(uint64_t id, uint64_t count) {
  if (id == kRootId) return;
  std::lock_guard lock(mutex_);
  Inode& inode = Get(id);
  inode.nlookup = count >= inode.nlookup ? 0 : inode.nlookup - count;
  MaybeFreeLocked(&inode);
}

void InodeTable::Release(Inode& inode) {
  std::lock_guard lock(mutex_);
  --inode.users;
  SyncLocked(inode);
  if (inode.users != 0) return;
  MaybeFreeLocked(&inode);
  CloseOverBudgetLocked();
}

Inode* InodeTable::SetPathLocked(Inode& inode, Inode* parent, std::string_view name) {
  if (inode.handle || (inode.parent == parent && inode.name == name)) return nullptr;
  // A path through the entry itself would never lead back to it.
  for (const Inode* up = parent; up != nullptr; up = up->parent) {
    if (up == &inode) return ClearPathLocked(inode);
  }
  Inode* const former = ClearPathLocked(inode);
  const auto [at, added] = paths_.try_emplace(PathKey{parent, std::string(name)}, &inode);
  if (!added) {
    // The name leads to this object now, not to the one last looked up by it.
    Inode& other = *at->second;
    other.parent = nullptr;
    other.name.clear();
    --parent->children;
    SyncLocked(other);
    at->second = &inode;
  }
  ++parent->children;
  inode.parent = parent;
  inode.name = name;
  SyncLocked(inode);
  return former;
}

Inode* InodeTable::ClearPathLocked(Inode& inode) {
  Inode* const parent = inode.parent;
  if (parent == nullptr) return nullptr;
  paths_.erase(PathKey{parent, inode.name});
  --parent->children;
  inode.parent = nullptr;
  inode.name.clear();
  SyncLocked(inode);
  return parent;
}

Inode* InodeTable::FindPathLocked(uint64_t parent, std::string_view name) {
  const auto found = paths_.find(PathKey{&Get(parent), std::string(name)});
  return found == paths_.end() ? nullptr : found->second;
}

void InodeTable::SyncLocked(Inode& inode) {
  const bool counted = inode.fd.valid() && Reopenable(inode);
  if (counted != inode.counted) {
    inode.counted = counted;
    if (counted) {
      ++open_closable_;
    } else {
      --open_closable_;
    }
  }
  const bool idle = counted && inode.users == 0;
  if (idle != inode.idle) {
    inode.idle = idle;
    if (idle) {
      inode.idle_at = idle_.insert(idle_.begin(), &inode);
    } else {
      idle_.erase(inode.idle_at);
    }
  }
}

void InodeTable::MaybeFreeLocked(Inode* inode) {
  while (inode != nullptr && inode != &root_ && inode->nlookup == 0 && inode->users == 0 &&
         inode->children == 0) {
    inode->fd.reset();
    if (inode->file_name != 0) {
      const auto named = file_names_.find(inode->file_name);
      if (named != file_names_.end() && named->second == inode) file_names_.erase(named);
    }
    Inode* const parent = ClearPathLocked(*inode);
    SyncLocked(*inode);
    if (!hashed_numbers_.empty()) {
      const auto held = hashed_numbers_.find(inode->view_ino);
      if (held != hashed_numbers_.end() && held->second == inode) hashed_numbers_.erase(held);
    }
    if (inode->detached) {
      detached_.erase(inode);
    } else {
      inodes_.erase(Key{inode->dev, inode->ino});
    }
    inode = parent;  // it may have been kept only for this entry
  }
}

std::string InodeTable::NoteHashedNumberLocked(Inode& inode, int fd, std::string_view name) {
  if (!numbering_.on_collision || !IsHashedViewInodeNumber(inode.view_ino)) return "";
  const auto [held, added] = hashed_numbers_.try_emplace(inode.view_ino, &inode);
  if (added) return "";
  Inode& other = *held->second;
  if (other.dev == inode.dev && other.ino == inode.ino) {
    held->second = &inode;  // the same object, newer: `other` is detached
    return "";
  }
  if (collision_reported_) return "";
  collision_reported_ = true;
  // Rare (a hash collision): reading the two paths under the lock costs nothing
  // that matters.
  return "origin objects " + Describe(other, other.fd.valid() ? other.fd.get() : -1) + " and " +
         Describe(inode, fd) + " (looked up as '" + std::string(name) +
         "') show the same inode number " + std::to_string(inode.view_ino) +
         " in the view, a collision of its hashed numbers (used where a file system or an "
         "inode number does not fit the device table): tools that tell files apart by "
         "inode number (tar, du, find) may take them for one file";
}

void InodeTable::CloseOverBudgetLocked() {
  while (open_closable_ > fd_budget_ && !idle_.empty()) {
    Inode& victim = *idle_.back();
    victim.fd.reset();
    SyncLocked(victim);
  }
}

std::optional<uint64_t> InodeTable::IdOf(dev_t dev, ino_t ino) const {
  std::lock_guard lock(mutex_);
  auto it = inodes_.find(Key{dev, ino});
  if (it == inodes_.end()) return std::nullopt;
  return reinterpret_cast<uint64_t>(it->second.get());
}

size_t InodeTable::size() const {
  std::lock_guard lock(mutex_);
  return inodes_.size() + detached_.size();
}

size_t InodeTable::open_closable() const {
  std::lock_guard lock(mutex_);
  return open_closable_;
}

}  // namespace wtcachefs
