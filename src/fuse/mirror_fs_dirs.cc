// SPDX-License-Identifier: Apache-2.0
// Directory listing: a DIR stream per open directory handle.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "fuse/dir_handle.h"
#include "fuse/mirror_fs.h"

namespace wtcachefs::ops {
namespace {

DirHandle* DirOf(fuse_file_info* fi) { return reinterpret_cast<DirHandle*>(fi->fh); }

}  // namespace

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd dir = fs.FdOf(ino);
    if (dir.error() != 0) return dir.error();
    const ViewDevice device = fs.inode_numbers().Device(fs.inodes().Get(ino).dev);
    UniqueFd fd(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return errno;
    DIR* stream = ::fdopendir(fd.get());
    if (stream == nullptr) return errno;
    fd.release();
    ViewState& view = ViewState::From(req);
    fi->fh = view.open_dirs().Add(std::make_unique<DirHandle>(stream, device));
    if (fuse_reply_open(req, fi) == -ENOENT) view.open_dirs().Free(fi->fh);
    return 0;
  });
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    std::vector<char> buffer(size);
    size_t used = 0;
    {
      // The reply goes out only after the lock is dropped: once the kernel has
      // it, the directory may be closed and the handle freed by Releasedir on
      // another thread.
      DirHandle& dir = *DirOf(fi);
      std::lock_guard lock(dir.mutex);
      if (off != dir.position) {
        ::seekdir(dir.stream, off);
        dir.position = off;
      }
      while (true) {
        // A position we may need to come back to if this entry does not fit.
        const long before = ::telldir(dir.stream);
        errno = 0;
        const dirent* entry = ::readdir(dir.stream);
        if (entry == nullptr) {
          if (errno != 0 && used == 0) return errno;
          break;
        }
        struct stat st {};
        st.st_ino = static_cast<ino_t>(dir.device.InodeNumber(entry->d_ino));
        st.st_mode = static_cast<mode_t>(DTTOIF(entry->d_type));
        const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used,
                                              entry->d_name, &st, entry->d_off);
        if (need > size - used) {
          ::seekdir(dir.stream, before);
          break;
        }
        used += need;
        dir.position = entry->d_off;
      }
    }
    fuse_reply_buf(req, buffer.data(), used);
    return 0;
  });
}

void Releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  ViewState::From(req).open_dirs().Free(fi->fh);
  fuse_reply_err(req, 0);
}

void Fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  (void)ino;
  Serve(req, [&] {
    const int fd = ::dirfd(DirOf(fi)->stream);
    const int rc = datasync ? ::fdatasync(fd) : ::fsync(fd);
    if (rc != 0) return errno;
    fuse_reply_err(req, 0);
    return 0;
  });
}

}  // namespace wtcachefs::ops
