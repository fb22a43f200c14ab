// SPDX-License-Identifier: Apache-2.0
#include "crash_checks.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace wtcachefs::crash_soak {
namespace {

constexpr size_t kChunk = 1 << 20;

// Each entry below `root` by its path relative to it: 'd' directory, 'f'
// regular file, 'o' anything else. 0 or an errno.
int ListTree(const std::string& root, const std::string& relative,
             std::map<std::string, char>* entries) {
  const std::string dir_path = relative.empty() ? root : root + "/" + relative;
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return errno;
  int error = 0;
  while (error == 0) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      error = errno;
      break;
    }
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string child = relative.empty() ? name : relative + "/" + name;
    struct stat st;
    if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      error = errno;
      break;
    }
    const char kind = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 'o';
    (*entries)[child] = kind;
    if (kind == 'd') error = ListTree(root, child, entries);
  }
  ::closedir(dir);
  return error;
}

std::string Hex(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", byte);
  return text;
}

// The first offset where `seen` and `origin` differ, described; nullopt if equal.
std::optional<Mismatch> FirstDifference(const std::string& file, const std::string& how_seen,
                                        const std::string& seen, const std::string& origin) {
  if (seen == origin) return std::nullopt;
  size_t at = 0;
  while (at < seen.size() && at < origin.size() && seen[at] == origin[at]) ++at;
  Mismatch mismatch{file, at, ""};
  if (at < seen.size() && at < origin.size()) {
    mismatch.what = how_seen + " reads " + Hex(static_cast<uint8_t>(seen[at])) + ", origin holds " +
                    Hex(static_cast<uint8_t>(origin[at]));
  } else {
    mismatch.what = how_seen + " reads " + std::to_string(seen.size()) + " bytes, origin holds " +
                    std::to_string(origin.size());
  }
  return mismatch;
}

std::optional<Mismatch> CompareFile(const std::string& view_file, const std::string& origin_file) {
  std::string origin, direct, buffered;
  if (const int error = ReadWhole(origin_file, false, &origin)) {
    return Mismatch{origin_file, 0, std::string("cannot read it on origin: ") + strerror(error)};
  }
  if (const int error = ReadWhole(view_file, true, &direct)) {
    return Mismatch{
        origin_file, 0,
        std::string("cannot read it through the view with O_DIRECT: ") + strerror(error)};
  }
  if (auto m = FirstDifference(origin_file, "the view (O_DIRECT)", direct, origin)) return m;
  if (const int error = ReadWhole(view_file, false, &buffered)) {
    return Mismatch{origin_file, 0,
                    std::string("cannot read it through the view: ") + strerror(error)};
  }
  return FirstDifference(origin_file, "the view (buffered)", buffered, origin);
}

}  // namespace

int ReadRange(const std::string& path, bool direct, uint64_t offset, uint64_t end,
              std::string* content) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0) return errno;
  void* buffer = std::aligned_alloc(4096, kChunk);
  int error = 0;
  while (offset < end) {
    const size_t want = end - offset < kChunk ? static_cast<size_t>(end - offset) : kChunk;
    const ssize_t n = ::pread(fd, buffer, want, static_cast<off_t>(offset));
    if (n < 0) {
      error = errno;
      break;
    }
    if (content != nullptr) content->append(static_cast<char*>(buffer), static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
    // A short read is the end: with O_DIRECT the next offset would not be aligned.
    if (static_cast<size_t>(n) < want) break;
  }
  std::free(buffer);
  ::close(fd);
  return error;
}

int ListFiles(const std::string& root, std::vector<std::string>* files) {
  std::map<std::string, char> entries;
  if (const int error = ListTree(root, "", &entries)) return error;
  for (const auto& [name, kind] : entries) {
    if (kind == 'f') files->push_back(name);
  }
  return 0;
}

int ReadWhole(const std::string& path, bool direct, std::string* content) {
  content->clear();
  return ReadRange(path, direct, 0, UINT64_MAX, content);
}

std::optional<Mismatch> CompareTrees(const std::string& view, const std::string& origin) {
  std::map<std::string, char> seen, expected;
  if (const int error = ListTree(origin, "", &expected)) {
    return Mismatch{origin, 0, std::string("cannot list origin: ") + strerror(error)};
  }
  if (const int error = ListTree(view, "", &seen)) {
    return Mismatch{origin, 0, std::string("cannot list the view: ") + strerror(error)};
  }
  for (const auto& [name, kind] : expected) {
    const auto it = seen.find(name);
    if (it == seen.end()) return Mismatch{origin + "/" + name, 0, "missing from the view"};
    if (it->second != kind) return Mismatch{origin + "/" + name, 0, "of another kind in the view"};
  }
  for (const auto& [name, kind] : seen) {
    if (!expected.contains(name)) {
      return Mismatch{origin + "/" + name, 0, "in the view but not on origin"};
    }
  }
  for (const auto& [name, kind] : expected) {
    if (kind != 'f') continue;
    if (auto m = CompareFile(view + "/" + name, origin + "/" + name)) return m;
  }
  return std::nullopt;
}

std::optional<Mismatch> FindLostWrite(const std::string& origin_file, const WrittenBytes& bytes) {
  std::string content;
  if (const int error = ReadRange(origin_file, false, bytes.begin(), bytes.end(), &content)) {
    return Mismatch{origin_file, 0, std::string("cannot read it on origin: ") + strerror(error)};
  }
  const std::optional<LostWrite> lost = bytes.FirstLostWrite(content);
  if (!lost) return std::nullopt;
  const std::string write = lost->state == ByteState::kSynced
                                ? "a write acknowledged and then fsynced"
                                : "a write acknowledged (writethrough), not yet fsynced,";
  const std::string found =
      lost->past_end ? "origin ends before it" : "origin holds " + Hex(lost->found);
  return Mismatch{origin_file, lost->offset,
                  write + " wrote " + Hex(lost->expected) + " there through the view; " + found};
}

}  // namespace wtcachefs::crash_soak
