// SPDX-License-Identifier: Apache-2.0
// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction. Anything still mounted below it is lazily unmounted first, so a
// failed test never leaves a mount or a tree behind.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace wtcachefs::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name, created as a directory when `create` is true.
  std::string Sub(const std::string& name, bool create = true) const;

 private:
  std::string path_;
};

// A tmpfs mounted at `dir` with `options` ("size=24M") and mount `flags`
// (MS_RDONLY), unmounted on destruction; its source reads "wtcachefs-test",
// or "wtcachefs-test-ro" when read-only. Mounting needs root: check ok().
class TmpfsMount {
 public:
  TmpfsMount(std::string dir, const std::string& options, unsigned long flags = 0);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool ok() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// One line of /proc/self/mountinfo, with octal escapes (\040) decoded.
struct MountEntry {
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};
// The mounts of this process's namespace, in mount order (the last is topmost).
std::vector<MountEntry> MountTable();

// True when `path` (canonical) is a mount point of type fuse.wtcachefs.
bool IsWtcachefsMount(const std::string& path);
// True when anything is mounted exactly at `path`.
bool IsMountPoint(const std::string& path);
// Writes `content` to `path` (creating or truncating); aborts the test on failure.
void WriteFile(const std::string& path, const std::string& content);
// The whole content of `path`; empty on error.
std::string ReadFile(const std::string& path);
// The same read with O_DIRECT: through a view, what the daemon serves now, not
// what the kernel's page cache kept. Empty on error.
std::string ReadFileDirect(const std::string& path);
// Overwrites `bytes` of `path` at `offset` in place (damage behind a cache's back).
void OverwriteAt(const std::string& path, off_t offset, const std::string& bytes);

}  // namespace wtcachefs::testing
