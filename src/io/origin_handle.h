// SPDX-License-Identifier: Apache-2.0
// OriginHandle: a file handle (name_to_handle_at) of an origin object, from
// which the object can be reopened after its descriptor was closed. This lets
// the inode table close the O_PATH descriptors of inodes nobody is using, so a
// tree larger than the open-file limit can be mirrored (virtiofsd's
// inode_file_handles does the same).
//
// A handle names one inode for good: once that inode is gone, reopening fails
// with ESTALE instead of reaching whatever reused its number.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>

#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

class OriginHandle {
 public:
  // The handle of the object open at `fd`, when its file system keeps handles
  // valid for the object's whole life (ext4, XFS, btrfs, tmpfs, F2FS, NFS, ZFS).
  // nullopt otherwise: FUSE and overlay file systems, for example, may refuse a
  // handle once the kernel has forgotten the inode (InodeTable reopens their
  // objects by path instead).
  static std::optional<OriginHandle> Of(int fd);
  // The same without the file system check (for one already known to keep handles).
  static std::optional<OriginHandle> OfKnownKind(int fd);
  // Whether the file system of `fd` keeps handles for an object's whole life.
  static bool FileSystemKeepsHandles(int fd);

  // An O_PATH descriptor of the object; invalid with `*error` set when it cannot
  // be reopened (ESTALE: the object is gone; EPERM: this process lacks
  // CAP_DAC_READ_SEARCH). `mount_fd` is any descriptor on the same file system.
  UniqueFd Reopen(int mount_fd, int* error) const;

  int mount_id() const { return mount_id_; }
  // The handle as bytes to keep, and back (its mount id is then unknown: 0);
  // nullopt for bytes that are no handle.
  const std::string& bytes() const { return bytes_; }
  static std::optional<OriginHandle> FromBytes(std::string bytes);
  bool operator==(const OriginHandle&) const = default;

 private:
  OriginHandle(std::string bytes, int mount_id) : bytes_(std::move(bytes)), mount_id_(mount_id) {}

  std::string bytes_;  // a struct file_handle and its f_handle bytes
  int mount_id_;
};

}  // namespace wtcachefs
