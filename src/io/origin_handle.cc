// SPDX-License-Identifier: Apache-2.0
#include "io/origin_handle.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace wtcachefs {
namespace {

constexpr long kXfsMagic = 0x58465342;
constexpr long kZfsMagic = 0x2fc12fc1;
constexpr long kF2fsMagic = 0xf2f52010;

// A handle's bytes: a struct file_handle followed by its f_handle.
std::optional<std::string> EncodeHandle(int fd, int* mount_id) {
  std::string bytes(sizeof(file_handle) + MAX_HANDLE_SZ, '\0');
  auto* handle = reinterpret_cast<file_handle*>(bytes.data());
  handle->handle_bytes = MAX_HANDLE_SZ;
  if (::name_to_handle_at(fd, "", handle, mount_id, AT_EMPTY_PATH) != 0) return std::nullopt;
  bytes.resize(sizeof(file_handle) + handle->handle_bytes);
  return bytes;
}

}  // namespace

bool OriginHandle::FileSystemKeepsHandles(int fd) {
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) return false;
  switch (static_cast<long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case NFS_SUPER_MAGIC:
    case kXfsMagic:
    case kZfsMagic:
    case kF2fsMagic:
      return true;
    default:
      return false;
  }
}

std::optional<OriginHandle> OriginHandle::Of(int fd) {
  if (!FileSystemKeepsHandles(fd)) return std::nullopt;
  return OfKnownKind(fd);
}

std::optional<OriginHandle> OriginHandle::OfKnownKind(int fd) {
  int mount_id = 0;
  std::optional<std::string> bytes = EncodeHandle(fd, &mount_id);
  if (!bytes) return std::nullopt;
  return OriginHandle(std::move(*bytes), mount_id);
}

std::optional<OriginHandle> OriginHandle::FromBytes(std::string bytes) {
  if (bytes.size() < sizeof(file_handle)) return std::nullopt;
  file_handle header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.handle_bytes > MAX_HANDLE_SZ || bytes.size() != sizeof(header) + header.handle_bytes) {
    return std::nullopt;
  }
  return OriginHandle(std::move(bytes), 0);
}

UniqueFd OriginHandle::Reopen(int mount_fd, int* error) const {
  std::string copy = bytes_;  // open_by_handle_at takes a non-const handle
  UniqueFd fd(::open_by_handle_at(mount_fd, reinterpret_cast<file_handle*>(copy.data()),
                                  O_PATH | O_CLOEXEC));
  *error = fd.valid() ? 0 : errno;
  return fd;
}

}  // namespace wtcachefs
