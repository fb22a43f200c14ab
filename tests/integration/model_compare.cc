// SPDX-License-Identifier: Apache-2.0
#include "integration/model_compare.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>

namespace wtcachefs::testing {
namespace {

// Reads all of `fd` with pread (the file position is left alone); 0 or errno.
int ReadAll(int fd, std::string* out) {
  out->clear();
  char buffer[64 * 1024];
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buffer, sizeof(buffer), offset);
    if (n < 0) return errno;
    if (n == 0) return 0;
    out->append(buffer, static_cast<size_t>(n));
    offset += n;
  }
}

int ReadFileAt(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  const int error = ReadAll(fd, out);
  ::close(fd);
  return error;
}

int ListDirectory(const std::string& path, std::vector<std::string>* names) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return errno;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names->push_back(name);
  }
  const int error = errno;
  ::closedir(dir);
  std::sort(names->begin(), names->end());
  return error;
}

std::vector<std::pair<std::string, std::string>> Xattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> result;
  char names[16 * 1024];
  const ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
  if (n < 0) {
    result.emplace_back("<llistxattr error>", std::strerror(errno));
    return result;
  }
  for (const char* name = names; name < names + n; name += std::strlen(name) + 1) {
    char value[16 * 1024];
    const ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof(value));
    result.emplace_back(name, size < 0 ? std::string("<error ") + std::strerror(errno) + ">"
                                       : std::string(value, static_cast<size_t>(size)));
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::string Octal(unsigned long value) {
  std::ostringstream out;
  out << std::oct << value;
  return out.str();
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ",") + name;
  return "[" + out + "]";
}

std::string ContentDifference(const std::string& left, const std::string& right) {
  size_t at = 0;
  while (at < left.size() && at < right.size() && left[at] == right[at]) ++at;
  std::ostringstream out;
  out << "content differs at byte " << at << " (lengths " << left.size() << " vs " << right.size()
      << ")";
  if (at < left.size() && at < right.size()) {
    out << ": 0x" << std::hex << (static_cast<unsigned>(left[at]) & 0xff) << " vs 0x"
        << (static_cast<unsigned>(right[at]) & 0xff);
  }
  return out.str();
}

std::string CompareTreesBelow(const std::string& left, const std::string& right,
                              const std::string& relative) {
  const EntrySnapshot l = SnapshotEntry(left), r = SnapshotEntry(right);
  std::string diff = DescribeDifference(l, r);
  if (!diff.empty()) return (relative.empty() ? "." : relative) + ": " + diff;
  if (l.error != 0 || !S_ISDIR(l.mode)) return "";
  for (const std::string& name : l.listing) {
    const std::string child = relative.empty() ? name : relative + "/" + name;
    diff = CompareTreesBelow(left + "/" + name, right + "/" + name, child);
    if (!diff.empty()) return diff;
  }
  return "";
}

}  // namespace

EntrySnapshot SnapshotEntry(const std::string& path) {
  EntrySnapshot s;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    s.error = errno;
    return s;
  }
  s.mode = st.st_mode;
  s.nlink = st.st_nlink;
  if (S_ISREG(st.st_mode)) {
    s.size = st.st_size;
    s.content_error = ReadFileAt(path, &s.content);
  } else if (S_ISLNK(st.st_mode)) {
    s.size = st.st_size;
    char target[PATH_MAX];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
    if (n < 0) {
      s.content_error = errno;
    } else {
      s.content.assign(target, static_cast<size_t>(n));
    }
  } else if (S_ISDIR(st.st_mode)) {
    s.content_error = ListDirectory(path, &s.listing);
  }
  s.xattrs = Xattrs(path);
  return s;
}

std::string DescribeDifference(const EntrySnapshot& l, const EntrySnapshot& r) {
  if (l.error != r.error) {
    return std::string("lstat: ") + std::strerror(l.error) + " vs " + std::strerror(r.error);
  }
  if (l.error != 0) return "";
  if (l.mode != r.mode) return "mode " + Octal(l.mode) + " vs " + Octal(r.mode);
  if (l.nlink != r.nlink) {
    return "nlink " + std::to_string(l.nlink) + " vs " + std::to_string(r.nlink);
  }
  if (l.size != r.size) {
    return "size " + std::to_string(l.size) + " vs " + std::to_string(r.size);
  }
  if (l.content_error != r.content_error) {
    return std::string("reading: ") + std::strerror(l.content_error) + " vs " +
           std::strerror(r.content_error);
  }
  if (l.content != r.content) {
    return S_ISLNK(l.mode) ? "symlink target '" + l.content + "' vs '" + r.content + "'"
                           : ContentDifference(l.content, r.content);
  }
  if (l.listing != r.listing) return "listing " + Join(l.listing) + " vs " + Join(r.listing);
  if (l.xattrs != r.xattrs) {
    std::string left, right;
    for (const auto& [name, value] : l.xattrs) left += name + "=" + value + ";";
    for (const auto& [name, value] : r.xattrs) right += name + "=" + value + ";";
    return "xattrs {" + left + "} vs {" + right + "}";
  }
  return "";
}

std::string CompareEntry(const std::string& left, const std::string& right) {
  return DescribeDifference(SnapshotEntry(left), SnapshotEntry(right));
}

std::string CompareTrees(const std::string& left, const std::string& right) {
  return CompareTreesBelow(left, right, "");
}

std::string CompareOpenFiles(int left_fd, int right_fd, bool with_content) {
  if ((left_fd < 0) != (right_fd < 0)) {
    return std::string("open on one side only (") + (left_fd < 0 ? "right" : "left") + ")";
  }
  if (left_fd < 0) return "";
  EntrySnapshot l, r;
  struct stat ls, rs;
  if (::fstat(left_fd, &ls) != 0) l.error = errno;
  if (::fstat(right_fd, &rs) != 0) r.error = errno;
  if (l.error == 0) {
    l.mode = ls.st_mode;
    l.nlink = ls.st_nlink;
    l.size = S_ISDIR(ls.st_mode) ? 0 : ls.st_size;
  }
  if (r.error == 0) {
    r.mode = rs.st_mode;
    r.nlink = rs.st_nlink;
    r.size = S_ISDIR(rs.st_mode) ? 0 : rs.st_size;
  }
  const int left_access = ::fcntl(left_fd, F_GETFL) & O_ACCMODE;
  const int right_access = ::fcntl(right_fd, F_GETFL) & O_ACCMODE;
  if (left_access != right_access) {
    return "access mode " + std::to_string(left_access) + " vs " + std::to_string(right_access);
  }
  if (with_content && l.error == 0 && r.error == 0 && S_ISREG(ls.st_mode) && S_ISREG(rs.st_mode) &&
      left_access != O_WRONLY) {
    l.content_error = ReadAll(left_fd, &l.content);
    r.content_error = ReadAll(right_fd, &r.content);
  }
  return DescribeDifference(l, r);
}

}  // namespace wtcachefs::testing
