// SPDX-License-Identifier: Apache-2.0
// File data callbacks: every byte of file content goes through the DataEngine.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "fuse/mirror_fs.h"
#include "fuse/uring_operations.h"

namespace wtcachefs::ops {
namespace {

OpenFile* FileOf(fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }

// Notes that the kernel may fill its page cache of `ino` through `fi`: any open
// or read but with O_DIRECT (the kernel passes the file's flags with each).
void NotePageCacheUse(ViewState& view, fuse_ino_t ino, const fuse_file_info* fi) {
  if (fi->flags & O_DIRECT) return;
  std::atomic<bool>& used = view.PageCacheUsed(ino);
  if (!used.load(std::memory_order_relaxed)) used.store(true);
}

// Runs `submit`, which submits a request whose IO completion replies and ends
// its count in `in_flight`, and says whether it did. False, with nothing
// counted, when it did not (or threw before): the request is then served as
// if it had never been tried.
template <typename Submit>
bool SubmitCounted(RequestsInFlight& in_flight, Submit&& submit) noexcept {
  if (!in_flight.Begin()) return false;
  bool submitted = false;
  try {
    submitted = submit();
  } catch (...) {
    submitted = false;
  }
  if (!submitted) in_flight.End();
  return submitted;
}

// How long an O_DIRECT write waits for the kernel to drop older page cache of
// what it wrote before it is acknowledged (KernelCacheInvalidator).
constexpr std::chrono::seconds kDirectWriteInvalidationWait{5};

}  // namespace

// Flags for the origin fd. Offsets are always explicit (the kernel resolves
// O_APPEND to the end of file), payloads are not aligned for O_DIRECT (DESIGN §4),
// and O_TRUNC goes through the engine so it can drop cached data. Linux truncates
// on O_RDONLY|O_TRUNC too (the kernel has checked write permission), so such an
// origin fd is opened read-write for the engine to truncate through it.
int OriginOpenFlags(int flags) {
  int origin = (flags & ~(O_APPEND | O_DIRECT | O_TRUNC | O_CREAT | O_EXCL | O_NOCTTY |
                          O_NOFOLLOW)) |
               O_CLOEXEC;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) == O_RDONLY) {
    origin = (origin & ~O_ACCMODE) | O_RDWR;
  }
  return origin;
}

int AttachOpenFile(fuse_req_t req, ViewState& view, fuse_ino_t ino, UniqueFd fd,
                   fuse_file_info* fi) {
  view.FirstOpen();
  NotePageCacheUse(view, ino, fi);
  auto opened = view.engine().Open(std::move(fd));
  if (!opened.ok()) return opened.status().error();
  std::unique_ptr<OpenFile> file = std::move(opened).value();
  // The kernel sends O_TRUNC only when the open must truncate (it may be
  // O_RDONLY: see OriginOpenFlags).
  if (fi->flags & O_TRUNC) {
    // The kernel leaves this truncate's privilege bits to the filesystem.
    if (const int error = file->Truncate(0, CallerOf(req)).error()) return error;
  }
  // The kernel keeps its page cache of the file only while origin's fingerprint
  // is unchanged since the engine last saw it (DESIGN W6).
  fi->keep_cache = file->page_cache_valid() ? 1 : 0;
  fi->fh = view.open_files().Add(std::move(file));
  return 0;
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd path = fs.FdOf(ino);
    if (path.error() != 0) return path.error();
    UniqueFd fd(::open(ProcFdPath(path.get()).c_str(), OriginOpenFlags(fi->flags)));
    if (!fd.valid()) return errno;
    if (const int error = AttachOpenFile(req, fs, ino, std::move(fd), fi)) return error;
    if (fuse_reply_open(req, fi) == -ENOENT) fs.open_files().Free(fi->fh);  // interrupted
    return 0;
  });
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd dir = fs.FdOf(parent);
    if (dir.error() != 0) return dir.error();
    UniqueFd fd;
    {
      CallerCredentials as_caller(req);
      if (as_caller.error() != 0) return as_caller.error();
      fd.reset(::openat(dir.get(), name,
                        OriginOpenFlags(fi->flags) | O_CREAT | (fi->flags & O_EXCL),
                        fs.CreationMode(req, parent, dir.get(), mode)));
    }
    if (!fd.valid()) return errno;
    fuse_entry_param entry;
    if (const int error = fs.Lookup(parent, name, &entry, /*created=*/true)) return error;
    if (const int error = AttachOpenFile(req, fs, entry.ino, std::move(fd), fi)) {
      fs.inodes().Forget(entry.ino, 1);
      return error;
    }
    if (fuse_reply_create(req, &entry, fi) == -ENOENT) fs.open_files().Free(fi->fh);
    return 0;
  });
}

void AddDataOperations(fuse_lowlevel_ops& o) {
  o.read = Read;
  o.write = Write;
  o.flush = Flush;
  o.release = Release;
  o.fsync = Fsync;
  o.fallocate = Fallocate;
  o.lseek = Lseek;
  o.copy_file_range = CopyFileRange;
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Serve(req, [&] {
    NotePageCacheUse(ViewState::From(req), ino, fi);
    thread_local std::vector<char> buffer;
    if (buffer.size() < size) buffer.resize(size);
    auto n = FileOf(fi)->Read(off, std::span<char>(buffer.data(), size));
    if (!n.ok()) return n.status().error();
    fuse_reply_buf(req, buffer.data(), n.value());
    return 0;
  });
}

bool ReadWithoutWaiting(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        fuse_file_info* fi, RequestsInFlight& in_flight) noexcept {
  // The reply's bytes go straight into the ring entry's payload buffer.
  char* payload = nullptr;
  size_t payload_size = 0;
#ifdef WTCACHEFS_FUSE_HAS_URING
  if (fuse_req_get_payload(req, &payload, &payload_size, nullptr) != 0) payload = nullptr;
#endif
  if (payload == nullptr || payload_size < size) return false;
  const std::span<char> out(payload, size);
  OpenFile& file = *FileOf(fi);
  try {
    // Hits: served here, which costs less than any hand-over.
    if (auto n = file.ReadIfCached(off, out)) {
      NotePageCacheUse(ViewState::From(req), ino, fi);
      if (n->ok()) {
        fuse_reply_buf(req, payload, n->value());
      } else {
        fuse_reply_err(req, n->status().error());
      }
      return true;
    }
  } catch (...) {
    fuse_reply_err(req, EIO);  // as Serve() would
    return true;
  }
  // Misses: submitted here, replied from their completion.
  return SubmitCounted(in_flight, [&] {
    NotePageCacheUse(ViewState::From(req), ino, fi);
    return file.ReadAsync(off, out, [req, payload, &in_flight](Result<size_t> n) {
      if (n.ok()) {
        fuse_reply_buf(req, payload, n.value());
      } else {
        fuse_reply_err(req, n.status().error());
      }
      in_flight.End();
    });
  });
}

bool WriteWithoutWaiting(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                         fuse_file_info* fi, RequestsInFlight& in_flight) noexcept {
  ViewState& view = ViewState::From(req);
  // Such a write waits for the kernel to drop older page cache (Write()).
  if ((fi->flags & O_DIRECT) && view.PageCacheUsed(ino).load(std::memory_order_relaxed)) {
    return false;
  }
  OpenFile& file = *FileOf(fi);
  return SubmitCounted(in_flight, [&] {
    const std::span<const char> data(buf, size);
    return file.WriteAsync(off, data, CallerOf(req), [req, &in_flight](Result<size_t> n) {
      // On the IO completion thread. The kernel releases the file only after
      // this reply.
      if (n.ok()) {
        fuse_reply_write(req, n.value());
      } else {
        fuse_reply_err(req, n.status().error());
      }
      in_flight.End();
    });
  });
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi) {
  Serve(req, [&] {
    OpenFile& file = *FileOf(fi);
    auto n = file.Write(off, std::span<const char>(buf, size), CallerOf(req));
    if (!n.ok()) return n.status().error();
    ViewState& view = ViewState::From(req);
    // An O_DIRECT write bypasses the kernel's page cache, and a buffered read
    // running meanwhile may have put the range's older bytes there (the kernel
    // drops such pages after a synchronous direct write, not after an
    // asynchronous one): they go before the write is acknowledged (DESIGN W2).
    if ((fi->flags & O_DIRECT) && view.PageCacheUsed(ino).load(std::memory_order_relaxed)) {
      view.kernel_cache().InvalidateAndWait(ino, off, static_cast<off_t>(n.value()),
                                            kDirectWriteInvalidationWait);
    }
    fuse_reply_write(req, n.value());
    return 0;
  });
}

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    // close() of a duplicate reports deferred write errors (NFS) at close(2) time.
    const int dup_fd = ::dup(FileOf(fi)->origin_fd());
    if (dup_fd < 0) return errno;
    if (::close(dup_fd) != 0 && errno != EINTR) return errno;
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  ViewState::From(req).open_files().Free(fi->fh);
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    if (const int error = FileOf(fi)->Sync(datasync != 0).error()) return error;
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
               fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    OpenFile& file = *FileOf(fi);
    if (const int error = file.Allocate(mode, offset, length, CallerOf(req)).error()) {
      return error;
    }
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    const off_t result = ::lseek(FileOf(fi)->origin_fd(), off, whence);
    if (result < 0) return errno;
    fuse_reply_lseek(req, result);
    return 0;
  });
}

void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                   fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                   int flags) {
  (void)ino_in;
  (void)ino_out;
  Serve(req, [&] {
    OpenFile& out = *FileOf(fi_out);
    auto n = FileOf(fi_in)->CopyTo(off_in, out, off_out, len, static_cast<unsigned>(flags),
                                   CallerOf(req));
    if (!n.ok()) return n.status().error();
    fuse_reply_write(req, n.value());
    return 0;
  });
}

}  // namespace wtcachefs::ops
