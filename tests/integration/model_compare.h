// SPDX-License-Identifier: Apache-2.0
// Model comparison: captures what a user of VIEW could notice about one path or
// one open file, and describes the first difference between two captures. An
// entry is its file type, permission bits, link count, size (regular files and
// symlinks), contents (file bytes, symlink target, sorted directory listing) and
// user-visible xattrs. Inode numbers, atime, ctime and mtime are never compared
// here; the model test compares mtime itself right after setting it explicitly.
//
// Thread safety: free functions without shared state; call from any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace wtcachefs::testing {

struct EntrySnapshot {
  int error = 0;    // lstat's errno; nothing below is filled when non-zero
  mode_t mode = 0;  // file type and permission bits
  nlink_t nlink = 0;
  off_t size = 0;                                           // regular files and symlinks only
  int content_error = 0;                                    // errno of reading content or listing
  std::string content;                                      // file bytes or symlink target
  std::vector<std::string> listing;                         // directories: sorted, without . and ..
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
};

// Captures `path` without following a final symlink.
EntrySnapshot SnapshotEntry(const std::string& path);

// "" when equal, else the first difference ("mode 100644 vs 100600", ...).
std::string DescribeDifference(const EntrySnapshot& left, const EntrySnapshot& right);

// Compares one entry of each tree; "" when equal.
std::string CompareEntry(const std::string& left, const std::string& right);

// Compares two trees recursively; "" when equal, else "<relative path>: <diff>".
std::string CompareTrees(const std::string& left, const std::string& right);

// Compares two open files (or two closed slots, fd -1): type, mode, link count,
// size, and the whole content when `with_content` and both are readable.
std::string CompareOpenFiles(int left_fd, int right_fd, bool with_content);

}  // namespace wtcachefs::testing
