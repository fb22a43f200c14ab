// SPDX-License-Identifier: Apache-2.0
#include "integration/model_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace wtcachefs::testing {
namespace {

const char* KindName(OpKind kind) {
  static constexpr std::array<const char*, 28> kKindNames = {
      "open",      "close",    "pwrite",   "write",       "pread",     "read",    "lseek",
      "ftruncate", "truncate", "fsync",    "fallocate",   "mkdir",     "rmdir",   "unlink",
      "rename",    "link",     "symlink",  "readlink",    "chmod",     "fchmod",  "utimensat",
      "futimens",  "setxattr", "getxattr", "removexattr", "listxattr", "readdir", "stat"};
  return kKindNames[static_cast<size_t>(kind)];
}

std::string OpenFlagsText(int flags) {
  static constexpr std::array<const char*, 3> kAccess = {"O_RDONLY", "O_WRONLY", "O_RDWR"};
  std::string out = kAccess[static_cast<size_t>(flags & O_ACCMODE)];
  if (flags & O_CREAT) out += "|O_CREAT";
  if (flags & O_EXCL) out += "|O_EXCL";
  if (flags & O_TRUNC) out += "|O_TRUNC";
  if (flags & O_APPEND) out += "|O_APPEND";
  if (flags & O_DIRECTORY) out += "|O_DIRECTORY";
  if (flags & O_NOFOLLOW) out += "|O_NOFOLLOW";
  return out;
}

std::string TimeText(const struct timespec& t) {
  if (t.tv_nsec == UTIME_NOW) return "UTIME_NOW";
  if (t.tv_nsec == UTIME_OMIT) return "UTIME_OMIT";
  return std::to_string(t.tv_sec) + "." + std::to_string(t.tv_nsec);
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// The result of a syscall: errno is read before anything else can change it.
Outcome Result(long result) {
  if (result < 0) return Outcome{-1, errno, {}};
  return Outcome{result, 0, {}};
}

Outcome ResultWithData(long result, const char* data) {
  if (result < 0) return Outcome{-1, errno, {}};
  return Outcome{result, 0, std::string(data, static_cast<size_t>(result))};
}

std::string ModeText(const struct stat& st) {
  std::ostringstream out;
  out << "mode " << std::oct << st.st_mode << std::dec << " nlink " << st.st_nlink;
  if (!S_ISDIR(st.st_mode)) out << " size " << st.st_size;
  return out.str();
}

std::string MtimeText(const struct stat& st) {
  return "mtime " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

bool MtimeIsExplicit(const Operation& op) {
  return op.times[1].tv_nsec != UTIME_NOW && op.times[1].tv_nsec != UTIME_OMIT;
}

Outcome Readdir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Outcome{-1, errno, {}};
  std::vector<std::string> entries;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    entries.push_back(std::string(entry->d_name) + ":" + std::to_string(entry->d_type));
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) return Outcome{-1, error, {}};
  std::sort(entries.begin(), entries.end());
  std::string data;
  for (const std::string& e : entries) data += e + " ";
  return Outcome{static_cast<long>(entries.size()), 0, data};
}

Outcome Xattr(const Operation& op, ModelSide& side) {
  const std::string path = side.Path(op.path);
  const int fd = side.fd(op.slot);
  const char* name = op.xattr_name.c_str();
  switch (op.kind) {
    case OpKind::kSetxattr: {
      const std::string value = PatternBytes(op.pattern, op.length);
      if (op.via == Via::kFd) {
        return Result(::fsetxattr(fd, name, value.data(), value.size(), op.flags));
      }
      if (op.via == Via::kPathNoFollow) {
        return Result(::lsetxattr(path.c_str(), name, value.data(), value.size(), op.flags));
      }
      return Result(::setxattr(path.c_str(), name, value.data(), value.size(), op.flags));
    }
    case OpKind::kGetxattr: {
      std::string buffer(op.length, '\0');
      void* data = op.length == 0 ? nullptr : buffer.data();
      const long n = op.via == Via::kFd ? ::fgetxattr(fd, name, data, op.length)
                     : op.via == Via::kPathNoFollow
                         ? ::lgetxattr(path.c_str(), name, data, op.length)
                         : ::getxattr(path.c_str(), name, data, op.length);
      return op.length == 0 ? Result(n) : ResultWithData(n, buffer.data());
    }
    case OpKind::kRemovexattr:
      if (op.via == Via::kFd) return Result(::fremovexattr(fd, name));
      if (op.via == Via::kPathNoFollow) return Result(::lremovexattr(path.c_str(), name));
      return Result(::removexattr(path.c_str(), name));
    default: {  // kListxattr
      char names[4096];
      const long n = op.via == Via::kFd ? ::flistxattr(fd, names, sizeof(names))
                     : op.via == Via::kPathNoFollow
                         ? ::llistxattr(path.c_str(), names, sizeof(names))
                         : ::listxattr(path.c_str(), names, sizeof(names));
      if (n < 0) return Outcome{-1, errno, {}};
      std::vector<std::string> list;
      for (const char* p = names; p < names + n; p += std::strlen(p) + 1) list.emplace_back(p);
      std::sort(list.begin(), list.end());
      std::string data;
      for (const std::string& s : list) data += s + " ";
      return Outcome{n, 0, data};
    }
  }
}

}  // namespace

void ModelSide::CloseAll() {
  for (int& fd : fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

std::string PatternBytes(uint32_t pattern, size_t length) {
  std::string bytes(length, '\0');
  uint32_t x = pattern | 1;
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    bytes[i] = static_cast<char>(x);
  }
  return bytes;
}

bool Operation::UsesSlot() const {
  switch (kind) {
    case OpKind::kOpen:
    case OpKind::kClose:
    case OpKind::kPwrite:
    case OpKind::kWrite:
    case OpKind::kPread:
    case OpKind::kRead:
    case OpKind::kLseek:
    case OpKind::kFtruncate:
    case OpKind::kFsync:
    case OpKind::kFallocate:
    case OpKind::kFchmod:
    case OpKind::kFutimens:
      return true;
    case OpKind::kSetxattr:
    case OpKind::kGetxattr:
    case OpKind::kRemovexattr:
    case OpKind::kListxattr:
    case OpKind::kStat:
      return via == Via::kFd;
    default:
      return false;
  }
}

std::string Operation::Describe() const {
  std::ostringstream out;
  out << KindName(kind);
  const std::string slot_text = " slot " + std::to_string(slot);
  const auto via_text = [&] {
    return via == Via::kFd ? slot_text : (via == Via::kPathNoFollow ? " nofollow " : " ") + path;
  };
  switch (kind) {
    case OpKind::kOpen:
      out << " " << path << " " << OpenFlagsText(flags) << " 0" << std::oct << mode << std::dec
          << " ->" << slot_text;
      break;
    case OpKind::kClose:
    case OpKind::kFsync:
      out << slot_text << (kind == OpKind::kFsync && flags ? " datasync" : "");
      break;
    case OpKind::kPwrite:
    case OpKind::kPread:
      out << slot_text << " offset " << offset << " length " << length;
      break;
    case OpKind::kWrite:
    case OpKind::kRead:
      out << slot_text << " length " << length;
      break;
    case OpKind::kLseek:
      out << slot_text << " " << offset << " whence " << flags;
      break;
    case OpKind::kFtruncate:
      out << slot_text << " size " << offset;
      break;
    case OpKind::kTruncate:
      out << " " << path << " size " << offset;
      break;
    case OpKind::kFallocate:
      out << slot_text << " mode " << flags << " offset " << offset << " length " << length;
      break;
    case OpKind::kMkdir:
    case OpKind::kChmod:
      out << " " << path << " 0" << std::oct << mode;
      break;
    case OpKind::kFchmod:
      out << slot_text << " 0" << std::oct << mode;
      break;
    case OpKind::kRename:
      out << " " << path << " " << path2 << " flags " << flags;
      break;
    case OpKind::kLink:
      out << " " << path << " " << path2;
      break;
    case OpKind::kSymlink:
      out << " " << path << " -> " << path2;
      break;
    case OpKind::kUtimens:
      out << " " << path << (flags ? " nofollow" : "") << " atime " << TimeText(times[0])
          << " mtime " << TimeText(times[1]);
      break;
    case OpKind::kFutimens:
      out << slot_text << " atime " << TimeText(times[0]) << " mtime " << TimeText(times[1]);
      break;
    case OpKind::kSetxattr:
      out << via_text() << " " << xattr_name << " length " << length << " flags " << flags;
      break;
    case OpKind::kGetxattr:
      out << via_text() << " " << xattr_name << " size " << length;
      break;
    case OpKind::kRemovexattr:
      out << via_text() << " " << xattr_name;
      break;
    case OpKind::kListxattr:
    case OpKind::kStat:
      out << via_text();
      break;
    default:  // rmdir, unlink, readlink, readdir
      out << " " << path;
  }
  return out.str();
}

std::string Outcome::Describe() const {
  std::string out = "result " + std::to_string(result);
  if (result < 0) out += " errno " + std::to_string(error) + " (" + std::strerror(error) + ")";
  if (!data.empty()) {
    out += data.size() <= 80 &&
                   std::all_of(data.begin(), data.end(), [](char c) { return c >= 32 && c < 127; })
               ? " data '" + data + "'"
               : " data[" + std::to_string(data.size()) + " bytes]";
  }
  return out;
}

Outcome Apply(const Operation& op, ModelSide& side) {
  const std::string path = side.Path(op.path);
  const std::string path2 = side.Path(op.path2);
  int& fd = side.fd(op.slot);
  switch (op.kind) {
    case OpKind::kOpen: {
      // A failed open leaves the slot's file open, so files stay open for long.
      const int opened = ::open(path.c_str(), op.flags | O_CLOEXEC, op.mode);
      if (opened < 0) return Outcome{-1, errno, {}};
      if (fd >= 0) ::close(fd);
      fd = opened;
      return Outcome{0, 0, {}};
    }
    case OpKind::kClose: {
      const Outcome outcome = Result(::close(fd));
      fd = -1;
      return outcome;
    }
    case OpKind::kPwrite: {
      const std::string data = PatternBytes(op.pattern, op.length);
      return Result(::pwrite(fd, data.data(), data.size(), op.offset));
    }
    case OpKind::kWrite: {
      const std::string data = PatternBytes(op.pattern, op.length);
      return Result(::write(fd, data.data(), data.size()));
    }
    case OpKind::kPread: {
      std::string buffer(op.length, '\0');
      return ResultWithData(::pread(fd, buffer.data(), buffer.size(), op.offset), buffer.data());
    }
    case OpKind::kRead: {
      std::string buffer(op.length, '\0');
      return ResultWithData(::read(fd, buffer.data(), buffer.size()), buffer.data());
    }
    case OpKind::kLseek: {
      // Directory offsets are filesystem cookies: only rewinding is comparable.
      struct stat st;
      if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) return Result(::lseek(fd, 0, SEEK_SET));
      return Result(::lseek(fd, op.offset, op.flags));
    }
    case OpKind::kFtruncate:
      return Result(::ftruncate(fd, op.offset));
    case OpKind::kTruncate:
      return Result(::truncate(path.c_str(), op.offset));
    case OpKind::kFsync:
      return Result(op.flags ? ::fdatasync(fd) : ::fsync(fd));
    case OpKind::kFallocate:
      return Result(::fallocate(fd, op.flags, op.offset, static_cast<off_t>(op.length)));
    case OpKind::kMkdir:
      return Result(::mkdir(path.c_str(), op.mode));
    case OpKind::kRmdir:
      return Result(::rmdir(path.c_str()));
    case OpKind::kUnlink:
      return Result(::unlink(path.c_str()));
    case OpKind::kRename:
      return Result(::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, path2.c_str(),
                                static_cast<unsigned>(op.flags)));
    case OpKind::kLink:
      return Result(::link(path.c_str(), path2.c_str()));
    case OpKind::kSymlink:
      return Result(::symlink(op.path2.c_str(), path.c_str()));
    case OpKind::kReadlink: {
      char target[256];
      return ResultWithData(::readlink(path.c_str(), target, sizeof(target)), target);
    }
    case OpKind::kChmod:
      return Result(::chmod(path.c_str(), op.mode));
    case OpKind::kFchmod:
      return Result(::fchmod(fd, op.mode));
    case OpKind::kUtimens:
    case OpKind::kFutimens: {
      const bool by_fd = op.kind == OpKind::kFutimens;
      Outcome outcome = Result(by_fd ? ::futimens(fd, op.times)
                                     : ::utimensat(AT_FDCWD, path.c_str(), op.times, op.flags));
      // The one place mtime is compared: right after it was set explicitly.
      struct stat st;
      if (outcome.result == 0 && MtimeIsExplicit(op)) {
        const int rc = by_fd ? ::fstat(fd, &st) : ::fstatat(AT_FDCWD, path.c_str(), &st, op.flags);
        outcome.data = rc == 0 ? MtimeText(st) : "stat failed";
      }
      return outcome;
    }
    case OpKind::kSetxattr:
    case OpKind::kGetxattr:
    case OpKind::kRemovexattr:
    case OpKind::kListxattr:
      return Xattr(op, side);
    case OpKind::kReaddir:
      return Readdir(path);
    case OpKind::kStat: {
      struct stat st;
      const int rc =
          op.via == Via::kPathNoFollow ? ::lstat(path.c_str(), &st) : ::stat(path.c_str(), &st);
      if (rc != 0) return Outcome{-1, errno, {}};
      return Outcome{0, 0, ModeText(st)};
    }
  }
  return Outcome{-1, EINVAL, "unknown operation"};
}

std::vector<std::string> TouchedPaths(const Operation& op) {
  std::vector<std::string> paths;
  const auto add = [&](const std::string& p) {
    if (std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(p);
  };
  if (op.UsesSlot() && op.kind != OpKind::kOpen) return paths;
  add(op.path);
  add(Parent(op.path));
  if (op.kind == OpKind::kRename || op.kind == OpKind::kLink) {
    add(op.path2);
    add(Parent(op.path2));
  }
  return paths;
}

}  // namespace wtcachefs::testing
