#include "cli/preflight.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace wtcachefs {
namespace {

struct NamedPath {
  const char* role;  // "origin", "cache", "view"
  std::string* path;
};

Status CheckDirectory(const NamedPath& p) {
  struct stat st;
  if (::stat(p.path->c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      return Status::Error(error, std::string(p.role) + " '" + *p.path +
                                      "' does not exist: create it or correct the path");
    }
    return Status::Error(error, std::string("cannot access ") + p.role + " '" + *p.path +
                                    "': " + std::strerror(error));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(ENOTDIR, std::string(p.role) + " '" + *p.path +
                                      "' is not a directory: give a directory");
  }
  char resolved[PATH_MAX];
  if (::realpath(p.path->c_str(), resolved) == nullptr) {
    return Status::FromErrno(std::string("cannot resolve ") + p.role + " '" + *p.path + "'");
  }
  *p.path = resolved;
  return Status::Ok();
}

// True when `inner` is `outer` or lies below it (both canonical).
bool IsWithin(const std::string& inner, const std::string& outer) {
  if (inner == outer) return true;
  if (outer == "/") return true;
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         inner[outer.size()] == '/';
}

Status CheckCacheWritable(const std::string& cache) {
  std::string probe = cache + "/.wtcachefs-write-probe-XXXXXX";
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    const int error = errno;
    return Status::Error(error, "cache '" + cache + "' is not writable (" +
                                    std::strerror(error) +
                                    "): give a writable directory on the fast device");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}

}  // namespace

Status CheckMountPaths(Options& options) {
  const std::array<NamedPath, 3> paths = {NamedPath{"origin", &options.origin},
                                          NamedPath{"cache", &options.cache},
                                          NamedPath{"view", &options.view}};
  for (const NamedPath& p : paths) {
    if (Status s = CheckDirectory(p); !s.ok()) return s;
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = 0; j < paths.size(); ++j) {
      if (i == j) continue;
      const NamedPath& a = paths[i];
      const NamedPath& b = paths[j];
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
  return CheckCacheWritable(options.cache);
}

}  // namespace wtcachefs
