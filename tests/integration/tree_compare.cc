#include "integration/tree_compare.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

std::vector<std::string> Listing(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(dir)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        names.emplace_back(e->d_name);
      }
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Xattrs(const std::string& path) {
  char names[4096];
  const ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
  if (n <= 0) return "";
  std::vector<std::string> list;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    list.emplace_back(names + i);
  }
  std::sort(list.begin(), list.end());
  std::string all;
  for (const std::string& name : list) {
    char value[1024];
    const ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    all += name + "=" + (len >= 0 ? std::string(value, static_cast<size_t>(len)) : "?") + ";";
  }
  return all;
}

std::string Describe(const std::string& path, const std::string& what, const std::string& l,
                     const std::string& r) {
  return path + ": " + what + " differs (" + l + " vs " + r + ")";
}

}  // namespace

std::string CompareEntries(const std::string& left, const std::string& right, bool recursive) {
  struct stat l, r;
  const int le = ::lstat(left.c_str(), &l) == 0 ? 0 : errno;
  const int re = ::lstat(right.c_str(), &r) == 0 ? 0 : errno;
  if (le != re) return Describe(left, "existence", std::strerror(le), std::strerror(re));
  if (le != 0) return "";
  if ((l.st_mode & S_IFMT) != (r.st_mode & S_IFMT)) {
    return Describe(left, "type", std::to_string(l.st_mode & S_IFMT),
                    std::to_string(r.st_mode & S_IFMT));
  }
  if ((l.st_mode & 07777) != (r.st_mode & 07777)) {
    return Describe(left, "mode", std::to_string(l.st_mode & 07777),
                    std::to_string(r.st_mode & 07777));
  }
  if (l.st_nlink != r.st_nlink) {
    return Describe(left, "link count", std::to_string(l.st_nlink), std::to_string(r.st_nlink));
  }
  if (S_ISREG(l.st_mode)) {
    if (l.st_size != r.st_size) {
      return Describe(left, "size", std::to_string(l.st_size), std::to_string(r.st_size));
    }
    if (ReadFile(left) != ReadFile(right)) return left + ": content differs";
  }
  if (S_ISLNK(l.st_mode)) {
    char lt[4096] = {}, rt[4096] = {};
    ::readlink(left.c_str(), lt, sizeof(lt) - 1);
    ::readlink(right.c_str(), rt, sizeof(rt) - 1);
    if (std::strcmp(lt, rt) != 0) return Describe(left, "symlink target", lt, rt);
  }
  if (!S_ISLNK(l.st_mode)) {
    const std::string lx = Xattrs(left), rx = Xattrs(right);
    if (lx != rx) return Describe(left, "xattrs", lx, rx);
  }
  if (S_ISDIR(l.st_mode)) {
    const std::vector<std::string> ln = Listing(left), rn = Listing(right);
    if (ln != rn) {
      std::string ls, rs;
      for (const auto& n : ln) ls += n + " ";
      for (const auto& n : rn) rs += n + " ";
      return Describe(left, "listing", ls, rs);
    }
    if (recursive) {
      for (const std::string& name : ln) {
        const std::string diff = CompareEntries(left + "/" + name, right + "/" + name, true);
        if (!diff.empty()) return diff;
      }
    }
  }
  return "";
}

}  // namespace wtcachefs::testing
