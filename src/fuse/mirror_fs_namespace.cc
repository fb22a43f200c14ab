// SPDX-License-Identifier: Apache-2.0
// Metadata and namespace callbacks: each is one origin syscall on an O_PATH fd.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "fuse/mirror_fs.h"

namespace wtcachefs::ops {
namespace {

int StatFd(int fd, struct stat* st) {
  return ::fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

// Replies with the entry of `name`, just created in `parent`.
int ReplyNewEntry(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param entry;
  const int error = MirrorFs::From(req).Lookup(parent, name, &entry);
  if (error != 0) return error;
  fuse_reply_entry(req, &entry);
  return 0;
}

int ApplyTimes(int path_fd, OpenFile* file, const struct stat& attr, int valid) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = 0;
  times[0].tv_nsec = times[1].tv_nsec = UTIME_OMIT;
  if (valid & FUSE_SET_ATTR_ATIME_NOW) {
    times[0].tv_nsec = UTIME_NOW;
  } else if (valid & FUSE_SET_ATTR_ATIME) {
    times[0] = attr.st_atim;
  }
  if (valid & FUSE_SET_ATTR_MTIME_NOW) {
    times[1].tv_nsec = UTIME_NOW;
  } else if (valid & FUSE_SET_ATTR_MTIME) {
    times[1] = attr.st_mtim;
  }
  const int rc = file != nullptr
                     ? ::futimens(file->origin_fd(), times)
                     : ::utimensat(AT_FDCWD, ProcFdPath(path_fd).c_str(), times, 0);
  return rc == 0 ? 0 : errno;
}

// A descriptor of the origin object the view knows as `kept`, or else of
// `name` in `dir` (opened into `opened`); -1 when there is none. The view's
// own descriptor is taken first: it stays the object's on an origin that
// resolves descriptors by path (a FUSE origin) when the name goes away.
int ObjectFd(const InodeFd& kept, UniqueFd& opened, int dir, const char* name) {
  if (kept.error() == 0 && kept.get() >= 0) return kept.get();
  opened = UniqueFd(::openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  return opened.get();
}

int ApplySize(DataEngine& engine, int path_fd, OpenFile* file, off_t size,
              const ChangeCaller& caller) {
  if (file != nullptr) return file->Truncate(size, caller).error();
  // Not O_NOFOLLOW: the /proc path is a magic link to the object itself.
  UniqueFd fd(::open(ProcFdPath(path_fd).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  auto opened = engine.Open(std::move(fd));
  if (!opened.ok()) return opened.status().error();
  return opened.value()->Truncate(size, caller).error();
}

}  // namespace

int ApplyAttributes(fuse_req_t req, DataEngine& engine, int path_fd, OpenFile* file,
                    const struct stat& attr, int valid) {
  const int object_fd = file != nullptr ? file->origin_fd() : path_fd;
  if (valid & FUSE_SET_ATTR_MODE) {
    const int error = engine.ChangeAttributes(object_fd, [&] {
      const int rc = file != nullptr ? ::fchmod(file->origin_fd(), attr.st_mode)
                                     : ::chmod(ProcFdPath(path_fd).c_str(), attr.st_mode);
      return rc == 0 ? 0 : errno;
    });
    if (error != 0) return error;
  }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    const uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr.st_uid : static_cast<uid_t>(-1);
    const gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr.st_gid : static_cast<gid_t>(-1);
    const int error = engine.ChangeAttributes(object_fd, [&] {
      const int rc = ::fchownat(path_fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      return rc == 0 ? 0 : errno;
    });
    if (error != 0) return error;
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    if (const int error = ApplySize(engine, path_fd, file, attr.st_size, CallerOf(req))) {
      return error;
    }
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    const int error = engine.ChangeAttributes(
        object_fd, [&] { return ApplyTimes(path_fd, file, attr, valid); });
    if (error != 0) return error;
  }
  return 0;
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    struct stat st;
    // fstat(2) of an open file asks with its handle: answered from the open
    // origin file, which stays reachable after an unlink.
    if (fi != nullptr && fi->fh != 0) {
      if (::fstat(reinterpret_cast<OpenFile*>(fi->fh)->origin_fd(), &st) != 0) return errno;
      fs.ToViewAttributes(ino, &st);
      fuse_reply_attr(req, &st, fs.options().attr_timeout);
      return 0;
    }
    const InodeFd path = fs.FdOf(ino);
    if (path.error() != 0) return path.error();
    if (const int error = StatFd(path.get(), &st)) return error;
    fs.ToViewAttributes(ino, &st);
    fuse_reply_attr(req, &st, fs.options().attr_timeout);
    return 0;
  });
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid,
             fuse_file_info* fi) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd path = fs.FdOf(ino);
    if (path.error() != 0) return path.error();
    const int path_fd = path.get();
    OpenFile* file = fi != nullptr ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
    if (const int error = ApplyAttributes(req, fs.engine(), path_fd, file, *attr, valid)) {
      return error;
    }
    struct stat st;
    if (const int error = StatFd(path_fd, &st)) return error;
    fs.ToViewAttributes(ino, &st);
    fuse_reply_attr(req, &st, fs.options().attr_timeout);
    return 0;
  });
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  Serve(req, [&] {
    char target[PATH_MAX + 1];
    const InodeFd link = MirrorFs::From(req).FdOf(ino);
    if (link.error() != 0) return link.error();
    const ssize_t n = ::readlinkat(link.get(), "", target, sizeof(target) - 1);
    if (n < 0) return errno;
    target[n] = '\0';
    fuse_reply_readlink(req, target);
    return 0;
  });
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    // Before the switch to the caller's credentials: reopening needs ours.
    const InodeFd dir = fs.FdOf(parent);
    if (dir.error() != 0) return dir.error();
    {
      CallerCredentials as_caller(req);
      if (as_caller.error() != 0) return as_caller.error();
      if (::mknodat(dir.get(), name, fs.CreationMode(req, parent, dir.get(), mode), rdev) != 0) {
        return errno;
      }
    }
    return ReplyNewEntry(req, parent, name);
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd dir = fs.FdOf(parent);
    if (dir.error() != 0) return dir.error();
    {
      CallerCredentials as_caller(req);
      if (as_caller.error() != 0) return as_caller.error();
      if (::mkdirat(dir.get(), name, fs.CreationMode(req, parent, dir.get(), mode)) != 0) {
        return errno;
      }
    }
    return ReplyNewEntry(req, parent, name);
  });
}

void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Serve(req, [&] {
    const InodeFd dir = MirrorFs::From(req).FdOf(parent);
    if (dir.error() != 0) return dir.error();
    {
      CallerCredentials as_caller(req);
      if (as_caller.error() != 0) return as_caller.error();
      if (::symlinkat(link, dir.get(), name) != 0) return errno;
    }
    return ReplyNewEntry(req, parent, name);
  });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd dir = fs.FdOf(parent);
    if (dir.error() != 0) return dir.error();
    const InodeFd kept = fs.inodes().KeepOpen(parent, name);  // see InodeTable
    // Unlinking moves the file's ctime (its link count): the engine's own
    // change (W6), so an open by another of its links keeps its cache.
    UniqueFd opened;
    const int object = ObjectFd(kept, opened, dir.get(), name);
    const auto unlink = [&] { return ::unlinkat(dir.get(), name, 0) == 0 ? 0 : errno; };
    const int error = object >= 0 ? fs.engine().RemoveLink(object, unlink) : unlink();
    if (error != 0) return error;
    fs.inodes().Removed(parent, name);
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd dir = fs.FdOf(parent);
    if (dir.error() != 0) return dir.error();
    const InodeFd kept = fs.inodes().KeepOpen(parent, name);  // see InodeTable
    if (::unlinkat(dir.get(), name, AT_REMOVEDIR) != 0) return errno;
    fs.inodes().Removed(parent, name);
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd from = fs.FdOf(parent);
    if (from.error() != 0) return from.error();
    const InodeFd to = fs.FdOf(newparent);
    if (to.error() != 0) return to.error();
    const InodeFd moved = fs.inodes().KeepOpen(parent, name);  // see InodeTable
    const InodeFd replaced = fs.inodes().KeepOpen(newparent, newname);
    // A rename moves the ctime of the object renamed and of the one at the new
    // name (exchanged with it, or losing a link by being replaced): the
    // engine's own change, not one behind the mount (W6).
    UniqueFd opened_moved, opened_target;
    const int moved_object = ObjectFd(moved, opened_moved, from.get(), name);
    const int target_object = (flags & RENAME_NOREPLACE) == 0
                                  ? ObjectFd(replaced, opened_target, to.get(), newname)
                                  : -1;
    auto rename = [&] {
      return ::renameat2(from.get(), name, to.get(), newname, flags) == 0 ? 0 : errno;
    };
    auto exchange = [&] {
      return target_object >= 0 ? fs.engine().ChangeAttributes(target_object, rename) : rename();
    };
    const int error =
        moved_object >= 0 ? fs.engine().ChangeAttributes(moved_object, exchange) : exchange();
    if (error != 0) return error;
    if (target_object >= 0 && (flags & RENAME_EXCHANGE) == 0) fs.engine().Unlinked(target_object);
    fs.inodes().Renamed(parent, name, newparent, newname, (flags & RENAME_EXCHANGE) != 0);
    fuse_reply_err(req, 0);
    return 0;
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd target = fs.FdOf(ino);
    if (target.error() != 0) return target.error();
    const InodeFd dir = fs.FdOf(newparent);
    if (dir.error() != 0) return dir.error();
    const int error = fs.engine().ChangeAttributes(target.get(), [&] {
      // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc form works without it.
      if (::linkat(target.get(), "", dir.get(), newname, AT_EMPTY_PATH) == 0) return 0;
      if (errno != ENOENT && errno != EPERM) return errno;
      return ::linkat(AT_FDCWD, ProcFdPath(target.get()).c_str(), dir.get(), newname,
                      AT_SYMLINK_FOLLOW) == 0
                 ? 0
                 : errno;
    });
    if (error != 0) return error;
    return ReplyNewEntry(req, newparent, newname);
  });
}

void Statfs(fuse_req_t req, fuse_ino_t ino) {
  Serve(req, [&] {
    struct statvfs st;
    const InodeFd path = MirrorFs::From(req).FdOf(ino);
    if (path.error() != 0) return path.error();
    if (::fstatvfs(path.get(), &st) != 0) return errno;
    fuse_reply_statfs(req, &st);
    return 0;
  });
}

}  // namespace wtcachefs::ops
