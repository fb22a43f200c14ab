// SPDX-License-Identifier: Apache-2.0
#include "cli/preflight.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "cache_dir/mount_table.h"

namespace wtcachefs {
namespace {

struct NamedPath {
  const char* role;  // "origin", "cache", "view"
  std::string* path;
};

enum class Kind { kDirectory, kImage };

// Checks that `p` exists and is of a kind its role takes (a directory, or for
// ORIGIN also a regular file or a block device), and makes it canonical.
Result<Kind> CheckPath(const NamedPath& p, bool image_allowed) {
  struct stat st;
  if (::stat(p.path->c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      return Status::Error(error, std::string(p.role) + " '" + *p.path +
                                      "' does not exist: create it or correct the path");
    }
    if (error == ENOTCONN) {
      // A FUSE mount whose daemon is gone.
      return Status::Error(error, std::string(p.role) + " '" + *p.path +
                                      "' is a FUSE mount whose daemon has exited: unmount it "
                                      "first (fusermount3 -u '" + *p.path + "')");
    }
    return Status::Error(error, std::string("cannot access ") + p.role + " '" + *p.path +
                                    "': " + std::strerror(error));
  }
  Kind kind = Kind::kDirectory;
  if (!S_ISDIR(st.st_mode)) {
    if (!image_allowed) {
      return Status::Error(ENOTDIR, std::string(p.role) + " '" + *p.path +
                                        "' is not a directory: give a directory");
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
      return Status::Error(EINVAL, std::string(p.role) + " '" + *p.path +
                                       "' is not a directory, a regular file or a block "
                                       "device: give one of those");
    }
    kind = Kind::kImage;
  }
  char resolved[PATH_MAX];
  if (::realpath(p.path->c_str(), resolved) == nullptr) {
    return Status::FromErrno(std::string("cannot resolve ") + p.role + " '" + *p.path + "'");
  }
  *p.path = resolved;
  return kind;
}

// The name an image has in VIEW: the base name of ORIGIN as given (a symlink's
// own name, so that VM configurations naming it keep working).
std::string ImageName(const std::string& given) {
  std::string name = given;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// True when `inner` is `outer` or lies below it (both canonical).
bool IsWithin(const std::string& inner, const std::string& outer) {
  if (inner == outer) return true;
  if (outer == "/") return true;
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         inner[outer.size()] == '/';
}

// A cache on a read-only file system cannot be used, but the view is still
// served (Options::cache_unavailable); one the daemon may not write is refused.
Status CheckCacheWritable(Options& options) {
  std::string probe = options.cache + "/.wtcachefs-write-probe-XXXXXX";
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    const int error = errno;
    if (error == EROFS) {
      options.cache_unavailable = "its file system is read-only";
      return Status::Ok();
    }
    // A full file system is the engine's to judge: an existing cache mounts.
    if (error == ENOSPC || error == EDQUOT) return Status::Ok();
    return Status::Error(error, "cache '" + options.cache + "' is not writable (" +
                                    std::strerror(error) +
                                    "): give a writable directory on the fast device");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}

// A second mount on VIEW would hide the first (and stack on it silently, as
// mount(2) allows): refused, naming what is mounted there. An autofs mount is
// the exception: with x-systemd.automount in fstab, the first access to VIEW
// runs the mount over it, as intended.
Status CheckViewIsNotAMountPoint(const std::string& view) {
  const std::optional<MountedFileSystem> mounted = FindMountAt(view);
  if (!mounted || mounted->type == "autofs") return Status::Ok();
  const bool ours = mounted->type == "fuse.wtcachefs";
  return Status::Error(EBUSY, "view '" + view + "' is already a mount point (" +
                                  DescribeMount(*mounted) + " is mounted there): " +
                                  (ours ? "unmount it first (fusermount3 -u '" + view + "')"
                                        : "unmount it first (umount '" + view + "')") +
                                  ", or give another directory");
}

// `given` with its directory made canonical and its last component kept.
Result<std::string> PathAsNamed(const std::string& given) {
  std::string path = given;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  char resolved[PATH_MAX];
  if (::realpath(directory.c_str(), resolved) == nullptr) {
    return Status::FromErrno("cannot resolve the directory of origin '" + given + "'");
  }
  const std::string parent = resolved;
  return (parent == "/" ? "" : parent) + "/" + ImageName(given);
}

}  // namespace

Status CheckMountPaths(Options& options) {
  const std::array<NamedPath, 3> paths = {NamedPath{"origin", &options.origin},
                                          NamedPath{"cache", &options.cache},
                                          NamedPath{"view", &options.view}};
  const std::string origin_as_given = options.origin;
  for (const NamedPath& p : paths) {
    auto kind = CheckPath(p, /*image_allowed=*/p.path == &options.origin);
    if (p.path == &options.cache && kind.status().error() == ENOENT) {
      // A cache whose file system is not mounted (a fast disk missing at
      // boot) must not keep the origin from being served.
      options.cache_unavailable = "it does not exist; its file system may not be mounted";
      continue;
    }
    if (!kind.ok()) return kind.status();
    if (kind.value() == Kind::kImage) {
      options.image_name = ImageName(origin_as_given);
      auto named = PathAsNamed(origin_as_given);
      if (!named.ok()) return named.status();
      options.image_path = named.value();
    }
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = 0; j < paths.size(); ++j) {
      if (i == j) continue;
      const NamedPath& a = paths[i];
      const NamedPath& b = paths[j];
      if (!options.cache_unavailable.empty() && (a.path == &options.cache || b.path == &options.cache)) {
        continue;  // not there: it overlaps nothing
      }
      if (*a.path == *b.path) {
        return Status::Error(EINVAL, std::string(a.role) + " and " + b.role +
                                         " are the same directory '" + *a.path +
                                         "': give three different directories");
      }
      if (IsWithin(*a.path, *b.path)) {
        return Status::Error(EINVAL, std::string(a.role) + " '" + *a.path + "' is inside " +
                                         b.role + " '" + *b.path +
                                         "': use directories that do not contain each other");
      }
    }
  }
  if (Status s = CheckViewIsNotAMountPoint(options.view); !s.ok()) return s;
  if (!options.cache_unavailable.empty()) return Status::Ok();
  return CheckCacheWritable(options);
}

}  // namespace wtcachefs
