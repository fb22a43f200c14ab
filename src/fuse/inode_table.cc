#include "fuse/inode_table.h"

namespace wtcachefs {

InodeTable::InodeTable(UniqueFd root_fd, const struct stat& root_stat) {
  root_.fd = std::move(root_fd);
  root_.dev = root_stat.st_dev;
  root_.ino = root_stat.st_ino;
  root_.type = root_stat.st_mode & S_IFMT;
  root_.nlookup = 1;  // never forgotten
}

Inode& InodeTable::Get(uint64_t id) {
  if (id == kRootId) return root_;
  return *reinterpret_cast<Inode*>(id);
}

uint64_t InodeTable::AddLookup(UniqueFd fd, const struct stat& st) {
  if (st.st_dev == root_.dev && st.st_ino == root_.ino) return kRootId;
  std::lock_guard lock(mutex_);
  auto& slot = inodes_[Key{st.st_dev, st.st_ino}];
  if (!slot) {
    slot = std::make_unique<Inode>();
    slot->fd = std::move(fd);
    slot->dev = st.st_dev;
    slot->ino = st.st_ino;
    slot->type = st.st_mode & S_IFMT;
  }
  ++slot->nlookup;
  return reinterpret_cast<uint64_t>(slot.get());
}

void InodeTable::Forget(uint64_t id, uint64_t count) {
  if (id == kRootId) return;
  std::lock_guard lock(mutex_);
  Inode& inode = *reinterpret_cast<Inode*>(id);
  inode.nlookup = count >= inode.nlookup ? 0 : inode.nlookup - count;
  if (inode.nlookup == 0) inodes_.erase(Key{inode.dev, inode.ino});
}

size_t InodeTable::size() const {
  std::lock_guard lock(mutex_);
  return inodes_.size();
}

}  // namespace wtcachefs
