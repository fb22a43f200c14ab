// SPDX-License-Identifier: Apache-2.0
// What the crash soak checks after every remount, with every writer stopped:
// the view shows origin's tree, and every file read through it (with O_DIRECT,
// which the daemon serves, and buffered) equals the file read on origin byte
// for byte; and every write through the view known to be on origin is there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crash_model.h"

namespace wtcachefs::crash_soak {

struct Mismatch {
  std::string file;     // the path on origin
  uint64_t offset = 0;  // the first byte that differs
  std::string what;     // what differs, for the report
};

// Compares the tree below `view` with the tree below `origin`: the same names
// and kinds, and every regular file's bytes. The first difference, if any.
std::optional<Mismatch> CompareTrees(const std::string& view, const std::string& origin);

// Checks `origin_file` against what `bytes` knows to be on it.
std::optional<Mismatch> FindLostWrite(const std::string& origin_file, const WrittenBytes& bytes);

// Reads `path`'s bytes from `offset` to `end` (or to its end, if sooner) into
// `content` (nullptr: reads and drops them), with O_DIRECT when `direct`.
// 0 or an errno.
int ReadRange(const std::string& path, bool direct, uint64_t offset, uint64_t end,
              std::string* content);
// The regular files below `root`, as paths relative to it. 0 or an errno.
int ListFiles(const std::string& root, std::vector<std::string>* files);
// The whole of `path`. 0 or an errno.
int ReadWhole(const std::string& path, bool direct, std::string* content);

}  // namespace wtcachefs::crash_soak
