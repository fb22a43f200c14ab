// SPDX-License-Identifier: Apache-2.0
// DataEngine: the seam between the FUSE adapter and everything that touches file
// *data*. The adapter handles the namespace and metadata itself and routes every
// read, write, truncate, sync, allocation and copy of file contents through here,
// so the block cache can see (and invalidate on) every data change.
//
// Contract for implementations:
//  - Origin is authoritative: every method leaves the origin file as the same call
//    on the origin fd would, and returns the origin's errno on failure.
//  - Methods never throw.
//
// Thread safety: DataEngine and OpenFile methods may be called concurrently from
// any FUSE worker thread, including for the same OpenFile.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "wtcachefs/device_number_store.h"
#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

// Who makes a change of a file's data through the view. After the change the
// engine clears the file's setuid and setgid bits as origin's kernel would
// have had this caller changed the file directly (engine/privilege_bits.h).
// FUSE does not pass a caller's capabilities: uid 0 counts as holding
// CAP_FSETID, and nothing is cleared for it.
struct ChangeCaller {
  uid_t uid = 0;
  // Whether the caller is in group `gid` (by its fsgid or a supplementary
  // group); asked only about a setgid file that is not group-executable.
  std::function<bool(gid_t gid)> in_group;
};

// An origin file opened through VIEW. Owns the origin fd.
class OpenFile {
 public:
  virtual ~OpenFile() = default;

  // Reads up to out.size() bytes at `offset`; returns the count (short at EOF only).
  virtual Result<size_t> Read(off_t offset, std::span<char> out) = 0;
  // Read() when every byte is in the cache and nothing would wait for origin
  // (no revalidation due, no miss, not degraded); nullopt, with nothing done,
  // otherwise. Lets a thread that must not wait for origin (a FUSE ring thread,
  // DESIGN 2b) serve cache hits itself.
  virtual std::optional<Result<size_t>> ReadIfCached(off_t offset, std::span<char> out) {
    (void)offset;
    (void)out;
    return std::nullopt;
  }
  // Read() for a thread that must not wait (a FUSE ring thread, DESIGN 2b):
  // false, with nothing done, when the read would wait before its IO is
  // submitted (a revalidation's stat, a group commit, degraded). Otherwise
  // true: `done` runs with Read()'s result once its IO has completed, on the
  // engine's IO completion thread (or before ReadAsync returns). `out` must
  // stay alive until then; `done` must not wait for other IO.
  virtual bool ReadAsync(off_t offset, std::span<char> out,
                         std::function<void(Result<size_t>)> done) {
    (void)offset;
    (void)out;
    (void)done;
    return false;
  }
  // Writes all of `data` at `offset`; returns data.size() or an error. The
  // methods that change data take their `caller` (ChangeCaller).
  virtual Result<size_t> Write(off_t offset, std::span<const char> data,
                               const ChangeCaller& caller) = 0;
  // Write() for a thread that must not wait (a FUSE ring thread, DESIGN 2b):
  // false, with nothing done, when the write would wait before its IO is
  // submitted (another change holds the file or its blocks, an intent must be
  // committed, origin's stats are slow), or after it (a caller other than root,
  // whose privilege bits may have to be cleared and the kernel told). Otherwise
  // true: the IO is submitted,
  // and `done` runs with Write()'s result once it has completed, on the
  // engine's IO completion thread (or before WriteAsync returns). `data` must
  // stay alive until then; `done` must not wait for other IO.
  virtual bool WriteAsync(off_t offset, std::span<const char> data, const ChangeCaller& caller,
                          std::function<void(Result<size_t>)> done) {
    (void)offset;
    (void)data;
    (void)caller;
    (void)done;
    return false;
  }
  virtual Status Truncate(off_t size, const ChangeCaller& caller) = 0;
  // fsync(2) / fdatasync(2) semantics on origin (and on the cache, once there is one).
  virtual Status Sync(bool data_only) = 0;
  // fallocate(2) with `mode` (including PUNCH_HOLE / ZERO_RANGE).
  virtual Status Allocate(int mode, off_t offset, off_t length, const ChangeCaller& caller) = 0;
  // copy_file_range(2) from this file into `dest`; returns bytes copied.
  virtual Result<size_t> CopyTo(off_t offset, OpenFile& dest, off_t dest_offset,
                                size_t length, unsigned flags, const ChangeCaller& caller) = 0;
  // The origin fd, for operations that are not data (fstat, lseek, fchmod).
  virtual int origin_fd() const = 0;
  // True when the file is unchanged since the engine last saw it, so the kernel
  // may keep its page cache of it (FOPEN_KEEP_CACHE).
  virtual bool page_cache_valid() const { return false; }
};

class DataEngine {
 public:
  virtual ~DataEngine() = default;

  // Takes ownership of `origin_fd`, an fd of a regular origin file opened for data
  // IO (never with O_DIRECT or O_APPEND: offsets are always explicit).
  virtual Result<std::unique_ptr<OpenFile>> Open(UniqueFd origin_fd) = 0;
  // Runs `change`, a change made through the view to the attributes of the
  // origin object at `fd` (an O_PATH fd will do): its mode, owner, times,
  // links or extended attributes, all of which move its ctime. The engine
  // brackets it as its own change (DESIGN W6), so that the next open does not
  // take it for a change made behind the mount. Returns what `change` returns.
  virtual int ChangeAttributes(int fd, const std::function<int()>& change) {
    (void)fd;
    return change();
  }
  // Origin's link to the object at `fd` (an O_PATH fd will do) was removed
  // through the view (unlink, or a rename over it). When no link is left, the
  // engine forgets what it holds of the file (DESIGN W8), at once or at the
  // release of its last open file.
  virtual void Unlinked(int fd) { (void)fd; }
  // Runs `remove`, which removes one of origin's links to the object at `fd`
  // (an unlink through the view): ChangeAttributes(), then Unlinked() when it
  // succeeded, in one.
  virtual int RemoveLink(int fd, const std::function<int()>& remove) {
    const int result = ChangeAttributes(fd, remove);
    if (result == 0) Unlinked(fd);
    return result;
  }
  // Called, from any thread, with origin's (st_dev, st_ino) of a file found
  // changed behind the mount while the view had it open or was changing it:
  // the kernel's page cache of it must be dropped.
  virtual void set_external_change_listener(
      std::function<void(uint64_t dev, uint64_t ino)> listener) {
    (void)listener;
  }
  // Called with origin's (st_dev, st_ino) of a file whose setuid or setgid
  // bits the engine cleared after a data change (ChangeCaller), on the thread
  // of that change and before it returns: the kernel's cached attributes of
  // the file must be dropped, or `stat` through the view would go on showing
  // the bits until they time out.
  virtual void set_privilege_drop_listener(
      std::function<void(uint64_t dev, uint64_t ino)> listener) {
    (void)listener;
  }
  // Where the view keeps the numbers it gives origin's file systems, so that
  // its inode numbers outlive a remount (src/fuse/view_inode_numbers.h); null
  // when the engine keeps none (every file system but ORIGIN root's is then
  // numbered by hash). Lives as long as the engine.
  virtual DeviceNumberStore* device_numbers() { return nullptr; }
};

}  // namespace wtcachefs
