// SPDX-License-Identifier: Apache-2.0
#include "support/temp_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace wtcachefs::testing {
namespace {

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);
  return 0;
}

}  // namespace

std::vector<MountEntry> MountTable() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  auto decode = [](const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 3 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point, token;
    fields >> id >> parent >> devno >> root >> mount_point;
    while (fields >> token && token != "-") {
    }
    MountEntry entry;
    std::string source;
    fields >> entry.fstype >> source >> entry.super_options;
    entry.mount_point = decode(mount_point);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base ? base : "/tmp") +
                      "/wtcachefs-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) std::abort();
  char resolved[PATH_MAX];
  path_ = ::realpath(templ.c_str(), resolved) != nullptr ? resolved : templ;
}

TempDir::~TempDir() {
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point.rfind(path_ + "/", 0) == 0) ::umount2(m.mount_point.c_str(), MNT_DETACH);
  }
  ::nftw(path_.c_str(), RemoveEntry, 64, FTW_DEPTH | FTW_PHYS);
}

TmpfsMount::TmpfsMount(std::string dir, const std::string& options, unsigned long flags)
    : dir_(std::move(dir)) {
  const char* source = (flags & MS_RDONLY) ? "wtcachefs-test-ro" : "wtcachefs-test";
  mounted_ = ::mount(source, dir_.c_str(), "tmpfs", flags, options.c_str()) == 0;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

std::string TempDir::Sub(const std::string& name, bool create) const {
  const std::string sub = path_ + "/" + name;
  if (create) ::mkdir(sub.c_str(), 0755);
  return sub;
}

bool IsWtcachefsMount(const std::string& path) {
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == path && m.fstype == "fuse.wtcachefs") return true;
  }
  return false;
}

bool IsMountPoint(const std::string& path) {
  for (const MountEntry& m : MountTable()) {
    if (m.mount_point == path) return true;
  }
  return false;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out) << "cannot write " << path;
  out << content;
}

void OverwriteAt(const std::string& path, off_t offset, const std::string& bytes) {
  ASSERT_GE(offset, 0);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "cannot open " << path;
  const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
  ::close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(bytes.size())) << "cannot write " << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string ReadFileDirect(const std::string& path) {
  constexpr size_t kChunk = 1 << 20;
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return {};
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, kChunk) != 0) {
    ::close(fd);
    return {};
  }
  std::string content;
  ssize_t n;
  // A short read is the end: the next offset would not be aligned.
  while ((n = ::pread(fd, buffer, kChunk, static_cast<off_t>(content.size()))) > 0) {
    content.append(static_cast<char*>(buffer), static_cast<size_t>(n));
    if (static_cast<size_t>(n) < kChunk) break;
  }
  std::free(buffer);
  ::close(fd);
  return n < 0 ? std::string() : content;
}

}  // namespace wtcachefs::testing
