// SPDX-License-Identifier: Apache-2.0
#include "fuse/image_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <iterator>
#include <vector>

#include "wtcachefs/origin_stat.h"

namespace wtcachefs {
namespace {

// The view's root: a directory that takes its owner and times from ORIGIN as
// it was at mount, so it stays listable if ORIGIN disappears behind the mount.
struct stat RootAttributes(const struct stat& origin) {
  struct stat root {};
  root.st_ino = FUSE_ROOT_ID;
  root.st_mode = S_IFDIR | 0755;
  root.st_nlink = 2;
  root.st_uid = origin.st_uid;
  root.st_gid = origin.st_gid;
  root.st_blksize = origin.st_blksize;
  root.st_atim = origin.st_atim;
  root.st_mtim = origin.st_mtim;
  root.st_ctim = origin.st_ctim;
  return root;
}

bool IsImage(fuse_ino_t id) { return id == ImageFs::kImageId; }

}  // namespace

Result<ImageOrigin> OpenImageOrigin(const Options& options) {
  ImageOrigin origin;
  origin.path = options.origin;
  origin.name = options.image_name;
  struct stat st;
  if (::stat(origin.path.c_str(), &st) != 0) {
    return Status::FromErrno("cannot access origin '" + origin.path + "'");
  }
  if (S_ISREG(st.st_mode)) return origin;
  if (!S_ISBLK(st.st_mode)) {
    return Status::Error(EINVAL, "origin '" + origin.path +
                                     "' is not a directory, a regular file or a block "
                                     "device: give one of those");
  }
  origin.block_device = true;
  origin.claim.reset(::open(origin.path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC));
  if (!origin.claim.valid() && (errno == EROFS || errno == EACCES)) {
    origin.claim.reset(::open(origin.path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
  }
  if (!origin.claim.valid()) {
    if (errno == EBUSY) {
      return Status::Error(EBUSY, "origin '" + origin.path +
                                      "' is in use (mounted, or opened exclusively by "
                                      "another program): unmount it or stop that program");
    }
    return Status::FromErrno("cannot open origin '" + origin.path + "'");
  }
  return origin;
}

ImageFs::ImageFs(const Options& options, DataEngine& engine, ImageOrigin origin,
                 ViewControl control)
    : ViewState(engine, std::move(control)),
      options_(options),
      origin_(std::move(origin)) {
  struct stat at_mount {};
  if (OriginAttributes(&at_mount) != 0) at_mount = {};
  root_ = RootAttributes(at_mount);
}

int ImageFs::OriginAttributes(struct stat* st) const {
  if (origin_.block_device) return StatOrigin(origin_.claim.get(), st);
  return ::stat(origin_.path.c_str(), st) == 0 ? 0 : errno;
}

int ImageFs::Stat(fuse_ino_t id, struct stat* st) const {
  if (!IsImage(id)) {
    *st = root_;
    return 0;
  }
  if (const int error = OriginAttributes(st)) return error;
  st->st_mode = S_IFREG | (st->st_mode & 07777);
  st->st_rdev = 0;
  if (origin_.block_device) st->st_nlink = 1;
  return 0;
}

namespace ops {
namespace {

void InitImage(void* userdata, fuse_conn_info* conn) {
  NegotiateDataPath(conn, static_cast<ImageFs&>(*static_cast<ViewState*>(userdata)).options());
}

void LookupImage(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    fuse_entry_param entry;
    std::memset(&entry, 0, sizeof(entry));
    entry.entry_timeout = fs.options().entry_timeout;
    entry.attr_timeout = fs.options().attr_timeout;
    if (parent != FUSE_ROOT_ID) return ENOTDIR;
    if (fs.origin().name == name) {
      const int error = fs.Stat(ImageFs::kImageId, &entry.attr);
      if (error == 0) entry.ino = ImageFs::kImageId;
      if (error != 0 && error != ENOENT) return error;
    }
    fuse_reply_entry(req, &entry);  // ino 0: a negative entry
    return 0;
  });
}

void ForgetImage(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void ForgetMultiImage(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void GetattrImage(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    struct stat st;
    if (const int error = fs.Stat(ino, &st)) return error;
    fuse_reply_attr(req, &st, fs.options().attr_timeout);
    return 0;
  });
}

void SetattrImage(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid,
                  fuse_file_info* fi) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    if (!IsImage(ino)) return EPERM;
    UniqueFd path_fd(::open(fs.origin().path.c_str(), O_PATH | O_CLOEXEC));
    if (!path_fd.valid()) return errno;
    OpenFile* file = fi != nullptr ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
    if (const int error = ApplyAttributes(req, fs.engine(), path_fd.get(), file, *attr, valid)) {
      return error;
    }
    struct stat st;
    if (const int error = fs.Stat(ino, &st)) return error;
    fuse_reply_attr(req, &st, fs.options().attr_timeout);
    return 0;
  });
}

// The view's directory holds ORIGIN and nothing else.
void MknodImage(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
  fuse_reply_err(req, EPERM);
}
void MkdirImage(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EPERM); }
void UnlinkImage(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void SymlinkImage(fuse_req_t req, const char*, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void RenameImage(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  fuse_reply_err(req, EPERM);
}
void LinkImage(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void CreateImage(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
  fuse_reply_err(req, EPERM);
}

void StatfsImage(fuse_req_t req, fuse_ino_t) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    struct statvfs st {};
    if (!fs.origin().block_device) {
      if (::statvfs(fs.origin().path.c_str(), &st) != 0) return errno;
    } else {
      // A device has no filesystem of its own to report: it is full, one file.
      struct stat device;
      if (const int error = fs.Stat(ImageFs::kImageId, &device)) return error;
      st.f_bsize = st.f_frsize = 4096;
      st.f_blocks = static_cast<fsblkcnt_t>(device.st_size / 4096);
      st.f_files = 1;
      st.f_namemax = 255;
    }
    fuse_reply_statfs(req, &st);
    return 0;
  });
}

void OpenImage(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    if (!IsImage(ino)) return EISDIR;
    UniqueFd fd;
    if (fs.origin().block_device) {
      // The claim itself: discards (fallocate) on a device need its exclusive open.
      if ((fi->flags & O_ACCMODE) != O_RDONLY &&
          (::fcntl(fs.origin().claim.get(), F_GETFL) & O_ACCMODE) == O_RDONLY) {
        return EROFS;
      }
      fd.reset(::fcntl(fs.origin().claim.get(), F_DUPFD_CLOEXEC, 0));
    } else {
      // By path, so that an image replaced behind the mount is seen (W6).
      fd.reset(::open(fs.origin().path.c_str(), OriginOpenFlags(fi->flags)));
    }
    if (!fd.valid()) return errno;
    if (const int error = AttachOpenFile(req, fs, ino, std::move(fd), fi)) return error;
    if (fuse_reply_open(req, fi) == -ENOENT) fs.open_files().Free(fi->fh);
    return 0;
  });
}

void OpendirImage(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { fuse_reply_open(req, fi); }

void ReaddirImage(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    struct Entry {
      const char* name;
      fuse_ino_t ino;
      mode_t type;
    };
    const Entry entries[] = {{".", FUSE_ROOT_ID, S_IFDIR},
                             {"..", FUSE_ROOT_ID, S_IFDIR},
                             {fs.origin().name.c_str(), ImageFs::kImageId, S_IFREG}};
    std::vector<char> buffer(size);
    size_t used = 0;
    for (off_t i = off; i >= 0 && i < static_cast<off_t>(std::size(entries)); ++i) {
      struct stat st {};
      st.st_ino = entries[i].ino;
      st.st_mode = entries[i].type;
      const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used,
                                            entries[i].name, &st, i + 1);
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buffer.data(), used);
    return 0;
  });
}

void ReleasedirImage(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void FsyncdirImage(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

// Runs `change` of the image's attributes as the engine's own (DESIGN W6).
int ChangeImageAttributes(ImageFs& fs, const std::function<int()>& change) {
  UniqueFd path_fd(::open(fs.origin().path.c_str(), O_PATH | O_CLOEXEC));
  if (!path_fd.valid()) return change();  // the change reports what is wrong
  return fs.engine().ChangeAttributes(path_fd.get(), change);
}

void SetxattrImage(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                   size_t size, int flags) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    if (std::string_view(name).starts_with(kControlPrefix)) {
      return RunControlCommand(req, fs.control(), name, value, size,
                               IsImage(ino) ? &fs.origin().path : nullptr);
    }
    if (!IsImage(ino)) return EPERM;
    const int error = ChangeImageAttributes(fs, [&] {
      return ::setxattr(fs.origin().path.c_str(), name, value, size, flags) == 0 ? 0 : errno;
    });
    if (error != 0) return error;
    fuse_reply_err(req, 0);
    return 0;
  });
}

void GetxattrImage(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Serve(req, [&] {
    ImageFs& fs = ImageFs::From(req);
    if (IsImage(ino)) return ReplyGetxattr(req, fs.origin().path, name, size);
    if (!std::string_view(name).starts_with(kControlPrefix)) return ENODATA;
    return ReplyControlAttribute(req, fs.control().read, name, size);
  });
}

void ListxattrImage(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Serve(req, [&] {
    if (IsImage(ino)) return ReplyListxattr(req, ImageFs::From(req).origin().path, size);
    if (size == 0) {
      fuse_reply_xattr(req, 0);
    } else {
      fuse_reply_buf(req, nullptr, 0);
    }
    return 0;
  });
}

void RemovexattrImage(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Serve(req, [&] {
    if (!IsImage(ino)) return EPERM;
    ImageFs& fs = ImageFs::From(req);
    const int error = ChangeImageAttributes(fs, [&] {
      return ::removexattr(fs.origin().path.c_str(), name) == 0 ? 0 : errno;
    });
    if (error != 0) return error;
    fuse_reply_err(req, 0);
    return 0;
  });
}

}  // namespace
}  // namespace ops

const fuse_lowlevel_ops& ImageFs::Operations() {
  static const fuse_lowlevel_ops operations = [] {
    fuse_lowlevel_ops o{};
    o.init = ops::InitImage;
    o.lookup = ops::LookupImage;
    o.forget = ops::ForgetImage;
    o.forget_multi = ops::ForgetMultiImage;
    o.getattr = ops::GetattrImage;
    o.setattr = ops::SetattrImage;
    o.mknod = ops::MknodImage;
    o.mkdir = ops::MkdirImage;
    o.unlink = ops::UnlinkImage;
    o.rmdir = ops::UnlinkImage;
    o.symlink = ops::SymlinkImage;
    o.rename = ops::RenameImage;
    o.link = ops::LinkImage;
    o.create = ops::CreateImage;
    o.statfs = ops::StatfsImage;
    o.open = ops::OpenImage;
    // The image's data: the same callbacks as every file of directory mode.
    ops::AddDataOperations(o);
    o.opendir = ops::OpendirImage;
    o.readdir = ops::ReaddirImage;
    o.releasedir = ops::ReleasedirImage;
    o.fsyncdir = ops::FsyncdirImage;
    o.setxattr = ops::SetxattrImage;
    o.getxattr = ops::GetxattrImage;
    o.listxattr = ops::ListxattrImage;
    o.removexattr = ops::RemovexattrImage;
    return o;
  }();
  return operations;
}

}  // namespace wtcachefs
