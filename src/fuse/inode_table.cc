#include "fuse/inode_table.h"

#include <fcntl.h>

#include <cerrno>
#include <utility>

namespace wtcachefs {

InodeFd::InodeFd(InodeFd&& other) noexcept
    : table_(other.table_),
      inode_(std::exchange(other.inode_, nullptr)),
      fd_(other.fd_),
      error_(other.error_) {}

InodeFd::~InodeFd() {
  if (inode_ != nullptr) table_->Release(*inode_);
}

InodeTable::InodeTable(UniqueFd root_fd, const struct stat& root_stat, size_t fd_budget)
    : fd_budget_(fd_budget) {
  root_.fd = std::move(root_fd);
  root_.dev = root_stat.st_dev;
  root_.ino = root_stat.st_ino;
  root_.type = root_stat.st_mode & S_IFMT;
  root_.nlookup = 1;  // never forgotten
  (void)HandleOf(root_.fd.get(), root_stat);  // meets ORIGIN's mount before its files
}

Inode& InodeTable::Get(uint64_t id) {
  if (id == kRootId) return root_;
  return *reinterpret_cast<Inode*>(id);
}

InodeFd InodeTable::Open(uint64_t id) {
  Inode& inode = Get(id);
  if (!inode.handle) return InodeFd(this, nullptr, inode.fd.get(), 0);  // never closed
  std::unique_lock lock(mutex_);
  MakeBusyLocked(inode);
  if (inode.fd.valid()) return InodeFd(this, &inode, inode.fd.get(), 0);
  // Reopened outside the lock; the mount's descriptor lives as long as the table.
  const int mount_fd = mounts_.at(inode.handle->mount_id()).fd.get();
  lock.unlock();
  int error = 0;
  UniqueFd fd = inode.handle->Reopen(mount_fd, &error);
  lock.lock();
  if (!inode.fd.valid() && fd.valid()) SetFdLocked(inode, std::move(fd));
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

uint64_t InodeTable::AddLookup(UniqueFd fd, const struct stat& st) {
  if (st.st_dev == root_.dev && st.st_ino == root_.ino) return kRootId;
  {
    // A known entry whose descriptor is open pins its object: the same one.
    std::lock_guard lock(mutex_);
    const auto known = inodes_.find(Key{st.st_dev, st.st_ino});
    if (known != inodes_.end() && (known->second->fd.valid() || !known->second->handle)) {
      ++known->second->nlookup;
      return reinterpret_cast<uint64_t>(known->second.get());
    }
  }
  std::optional<OriginHandle> handle = HandleOf(fd.get(), st);
  std::lock_guard lock(mutex_);
  auto& slot = inodes_[Key{st.st_dev, st.st_ino}];
  if (slot && slot->handle && handle && *slot->handle != *handle) {
    // Only possible once the old entry's descriptor was closed: its object is
    // gone and the number was reused. The kernel keeps the old id until it
    // forgets it; the key now names the new object.
    slot->detached = true;
    Inode* old = slot.get();
    detached_.emplace(old, std::move(slot));
  }
  if (!slot) {
    slot = std::make_unique<Inode>();
    slot->dev = st.st_dev;
    slot->ino = st.st_ino;
    slot->type = st.st_mode & S_IFMT;
    slot->handle = std::move(handle);
  }
  Inode& inode = *slot;
  ++inode.nlookup;
  if (!inode.fd.valid()) {
    SetFdLocked(inode, std::move(fd));
    if (inode.handle && inode.users == 0) {
      inode.idle = true;
      inode.idle_at = idle_.insert(idle_.begin(), &inode);
      CloseOverBudgetLocked();
    }
  }
  return reinterpret_cast<uint64_t>(&inode);
}

void InodeTable::Forget(uint64_t id, uint64_t count) {
  if (id == kRootId) return;
  std::lock_guard lock(mutex_);
  Inode& inode = *reinterpret_cast<Inode*>(id);
  inode.nlookup = count >= inode.nlookup ? 0 : inode.nlookup - count;
  if (inode.nlookup != 0) return;
  if (inode.idle) idle_.erase(inode.idle_at);
  inode.idle = false;
  if (inode.users > 0) {
    // A request replied and the kernel forgot the inode while that request
    // still holds its fd lease: the last Release() frees it.
    inode.forgotten = true;
    if (!inode.detached) {
      inode.detached = true;
      auto slot = inodes_.find(Key{inode.dev, inode.ino});
      detached_.emplace(&inode, std::move(slot->second));
      inodes_.erase(slot);
    }
    return;
  }
  FreeLocked(inode);
}

void InodeTable::FreeLocked(Inode& inode) {
  if (inode.handle && inode.fd.valid()) --open_closable_;
  if (inode.detached) {
    detached_.erase(&inode);
  } else {
    inodes_.erase(Key{inode.dev, inode.ino});
  }
}

void InodeTable::Release(Inode& inode) {
  std::lock_guard lock(mutex_);
  if (--inode.users != 0) return;
  if (inode.forgotten) {
    FreeLocked(inode);
    return;
  }
  if (!inode.fd.valid()) return;
  inode.idle = true;
  inode.idle_at = idle_.insert(idle_.begin(), &inode);
  CloseOverBudgetLocked();
}

void InodeTable::SetFdLocked(Inode& inode, UniqueFd fd) {
  inode.fd = std::move(fd);
  if (inode.handle) ++open_closable_;
}

void InodeTable::MakeBusyLocked(Inode& inode) {
  ++inode.users;
  if (inode.idle) {
    idle_.erase(inode.idle_at);
    inode.idle = false;
  }
}

void InodeTable::CloseOverBudgetLocked() {
  while (open_closable_ > fd_budget_ && !idle_.empty()) {
    Inode& victim = *idle_.back();
    idle_.pop_back();
    victim.idle = false;
    victim.fd.reset();
    --open_closable_;
  }
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
