// SPDX-License-Identifier: Apache-2.0
// Extended attributes, through /proc/self/fd paths (O_PATH fds have no f*xattr).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <string_view>
#include <vector>

#include "fuse/mirror_fs.h"
#include "fuse/uring_operations.h"

namespace wtcachefs::ops {
namespace {

constexpr std::string_view kDefaultAclName = "system.posix_acl_default";

// The default ACL of directory `ino` was set or removed (or tried to be):
// creations in it read it again.
void ForgetDefaultAcl(MirrorFs& fs, fuse_ino_t ino) {
  const Inode& dir = fs.inodes().Get(ino);
  fs.default_acls().Forget(dir.dev, dir.ino);
}

}  // namespace

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
              size_t size, int flags) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd fd = fs.FdOf(ino);
    if (fd.error() != 0) return fd.error();
    const std::string path = ProcFdPath(fd.get());
    if (std::string_view(name).starts_with(kControlPrefix)) {
      if (ino == FUSE_ROOT_ID) return RunControlCommand(req, fs.control(), name, value, size, nullptr);
      if (fs.inodes().Get(ino).type != S_IFREG) return EISDIR;
      return RunControlCommand(req, fs.control(), name, value, size, &path);
    }
    const int error = fs.engine().ChangeAttributes(fd.get(), [&] {
      return ::setxattr(path.c_str(), name, value, size, flags) == 0 ? 0 : errno;
    });
    if (std::string_view(name) == kDefaultAclName) ForgetDefaultAcl(fs, ino);
    if (error != 0) return error;
    fuse_reply_err(req, 0);
    return 0;
  });
}

int RunControlCommand(fuse_req_t req, const ViewControl& control, const char* name,
                      const char* value, size_t size, const std::string* file_path) {
  if (!control.command) return ENOTSUP;
  int error;
  if (file_path == nullptr) {
    error = control.command(name, std::string_view(value, size), -1);
  } else {
    UniqueFd fd(::open(file_path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno;
    error = control.command(name, std::string_view(value, size), fd.get());
  }
  if (error != 0) return error;
  fuse_reply_err(req, 0);
  return 0;
}

int ReplyControlAttribute(fuse_req_t req, const ControlAttributes& control, const char* name,
                          size_t size) {
  const std::optional<std::string> value = control ? control(name, TransportOf(req)) : std::nullopt;
  if (!value) return ENODATA;
  if (size == 0) {
    fuse_reply_xattr(req, value->size());
  } else if (size < value->size()) {
    return ERANGE;
  } else {
    fuse_reply_buf(req, value->data(), value->size());
  }
  return 0;
}

int ReplyGetxattr(fuse_req_t req, const std::string& path, const char* name, size_t size) {
  if (size == 0) {
    const ssize_t n = ::getxattr(path.c_str(), name, nullptr, 0);
    if (n < 0) return errno;
    fuse_reply_xattr(req, static_cast<size_t>(n));
    return 0;
  }
  std::vector<char> value(size);
  const ssize_t n = ::getxattr(path.c_str(), name, value.data(), size);
  if (n < 0) return errno;
  fuse_reply_buf(req, value.data(), static_cast<size_t>(n));
  return 0;
}

int ReplyListxattr(fuse_req_t req, const std::string& path, size_t size) {
  if (size == 0) {
    const ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return errno;
    fuse_reply_xattr(req, static_cast<size_t>(n));
    return 0;
  }
  std::vector<char> names(size);
  const ssize_t n = ::listxattr(path.c_str(), names.data(), size);
  if (n < 0) return errno;
  fuse_reply_buf(req, names.data(), static_cast<size_t>(n));
  return 0;
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    if (ino == FUSE_ROOT_ID && std::string_view(name).starts_with(kControlPrefix) &&
        fs.control().read) {
      return ReplyControlAttribute(req, fs.control().read, name, size);
    }
    const InodeFd fd = fs.FdOf(ino);
    if (fd.error() != 0) return fd.error();
    return ReplyGetxattr(req, ProcFdPath(fd.get()), name, size);
  });
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Serve(req, [&] {
    const InodeFd fd = MirrorFs::From(req).FdOf(ino);
    if (fd.error() != 0) return fd.error();
    return ReplyListxattr(req, ProcFdPath(fd.get()), size);
  });
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    const InodeFd fd = fs.FdOf(ino);
    if (fd.error() != 0) return fd.error();
    const int error = fs.engine().ChangeAttributes(fd.get(), [&] {
      return ::removexattr(ProcFdPath(fd.get()).c_str(), name) == 0 ? 0 : errno;
    });
    if (std::string_view(name) == kDefaultAclName) ForgetDefaultAcl(fs, ino);
    if (error != 0) return error;
    fuse_reply_err(req, 0);
    return 0;
  });
}

}  // namespace wtcachefs::ops
