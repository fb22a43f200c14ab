// SPDX-License-Identifier: Apache-2.0
// open(2) flags through VIEW: O_APPEND, O_TRUNC, O_EXCL and O_CREAT modes under
// the caller's umask behave as on origin.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

using posix_open_flags = PosixViewTest;

TEST_F(posix_open_flags, AppendFromTwoDescriptorsInterleavesAtTheEndAsOnOrigin) {
  for (const std::string& p : {V("log"), R("log")}) {
    const int first = ::open(p.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
    const int second = ::open(p.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(first, 0);
    ASSERT_GE(second, 0);
    for (int i = 0; i < 50; ++i) {
      const std::string one = "first-" + std::to_string(i) + "\n";
      const std::string two = std::string(static_cast<size_t>(i % 7) + 1, 'x') + "\n";
      ASSERT_EQ(::write(first, one.data(), one.size()), static_cast<ssize_t>(one.size()));
      ASSERT_EQ(::write(second, two.data(), two.size()), static_cast<ssize_t>(two.size()));
    }
    // On Linux pwrite on an O_APPEND descriptor appends too.
    ASSERT_EQ(::pwrite(first, "END", 3, 0), 3);
    ::close(first);
    ::close(second);
  }
  EXPECT_EQ(ReadFile(O("log")), ReadFile(R("log")));
  EXPECT_EQ(ReadFile(V("log")), ReadFile(R("log")));
  EXPECT_EQ(ReadFile(O("log")).substr(0, 8), "first-0\n");
}

TEST_F(posix_open_flags, AppendAfterAnotherWriterGrewTheFileWritesAtTheNewEnd) {
  WriteFile(V("log"), "start\n");
  const int append = ::open(V("log").c_str(), O_WRONLY | O_APPEND);
  const int plain = ::open(V("log").c_str(), O_WRONLY);
  ASSERT_GE(append, 0);
  ASSERT_GE(plain, 0);
  ASSERT_EQ(::pwrite(plain, "grown by plain\n", 15, 6), 15);
  ASSERT_EQ(::write(append, "appended\n", 9), 9);
  ::close(append);
  ::close(plain);
  EXPECT_EQ(ReadFile(O("log")), "start\ngrown by plain\nappended\n");
}

TEST_F(posix_open_flags, TruncOnOpenForWritingEmptiesTheFileOnOrigin) {
  for (const int access : {O_WRONLY, O_RDWR}) {
    WriteFile(V("f"), "some content");
    const int fd = ::open(V("f").c_str(), access | O_TRUNC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(ReadFile(O("f")), "") << access;
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, 0);
    ASSERT_EQ(::write(fd, "new", 3), 3);
    ::close(fd);
    EXPECT_EQ(ReadFile(O("f")), "new");
  }
}

TEST_F(posix_open_flags, ReadOnlyOpenWithTruncTruncatesAsOnOrigin) {
  // Linux truncates on O_RDONLY|O_TRUNC when the caller may write the file.
  for (const std::string& p : {V("f"), R("f")}) {
    WriteFile(p, "some content");
    const int fd = ::open(p.c_str(), O_RDONLY | O_TRUNC);
    ASSERT_GE(fd, 0) << p;
    ::close(fd);
  }
  EXPECT_EQ(LstatOf(R("f")).st_size, 0);
  EXPECT_EQ(ReadFile(O("f")), ReadFile(R("f")));
  EXPECT_EQ(LstatOf(V("f")).st_size, LstatOf(R("f")).st_size);
}

TEST_F(posix_open_flags, CreateWithTruncOfExistingFileEmptiesItOnOrigin) {
  for (const std::string& p : {V("f"), R("f")}) WriteFile(p, "old content");
  for (const int access : {O_WRONLY, O_RDONLY}) {
    for (const std::string& p : {V("f"), R("f")}) {
      WriteFile(p, "old content");
      ASSERT_EQ(OpenClose(p, access | O_CREAT | O_TRUNC, 0600), 0) << p;
    }
    EXPECT_EQ(ReadFile(O("f")), ReadFile(R("f"))) << access;
    EXPECT_EQ(LstatOf(O("f")).st_mode, LstatOf(R("f")).st_mode);
  }
}

TEST_F(posix_open_flags, ExclusiveCreateOfExistingNameFailsWithEexistAsOnOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    WriteFile(base + "/file", "keep");
    ASSERT_EQ(::mkdir((base + "/dir").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("file", (base + "/link").c_str()), 0);
    ASSERT_EQ(::symlink("nowhere", (base + "/dangling").c_str()), 0);
  }
  const auto create_exclusive = [](const std::string& p) {
    return OpenClose(p, O_CREAT | O_EXCL | O_WRONLY | O_TRUNC, 0600);
  };
  for (const char* rel : {"file", "dir", "link", "dangling"}) {
    EXPECT_EQ(ExpectSameErrno(create_exclusive, rel), EEXIST) << rel;
  }
  EXPECT_EQ(ReadFile(O("file")), "keep");
  EXPECT_EQ(ExpectSameErrno(create_exclusive, "fresh"), 0);
  EXPECT_EQ(LstatOf(O("fresh")).st_mode, LstatOf(R("fresh")).st_mode);
}

TEST_F(posix_open_flags, CreatedModesFollowTheCallersUmaskAsOnOrigin) {
  for (const mode_t mask : {0000, 0022, 0027, 0077, 0777}) {
    ScopedUmask umask_for_test(mask);
    for (const mode_t mode : {0777, 0666, 0640, 07755}) {
      const std::string suffix = std::to_string(mask) + "-" + std::to_string(mode);
      for (const std::string& base : {mount_.view(), reference_}) {
        ASSERT_EQ(OpenClose(base + "/file-" + suffix, O_CREAT | O_WRONLY, mode), 0);
        ASSERT_EQ(::mkdir((base + "/dir-" + suffix).c_str(), mode), 0);
        ASSERT_EQ(::mkfifo((base + "/fifo-" + suffix).c_str(), mode), 0);
        ASSERT_EQ(::mknod((base + "/node-" + suffix).c_str(), S_IFREG | mode, 0), 0);
      }
      for (const char* kind : {"file-", "dir-", "fifo-", "node-"}) {
        const std::string rel = kind + suffix;
        EXPECT_EQ(LstatOf(O(rel)).st_mode, LstatOf(R(rel)).st_mode) << rel;
        EXPECT_EQ(LstatOf(V(rel)).st_mode, LstatOf(O(rel)).st_mode) << rel;
      }
    }
  }
  EXPECT_EQ(LstatOf(O("file-23-511")).st_mode & 07777, 0750u);  // umask 027, mode 0777
}

TEST_F(posix_open_flags, CreateOfAnExistingFileKeepsItsModeAndContent) {
  WriteFile(V("f"), "content");
  ASSERT_EQ(::chmod(V("f").c_str(), 0600), 0);
  ASSERT_EQ(OpenClose(V("f"), O_CREAT | O_WRONLY, 0777), 0);
  EXPECT_EQ(LstatOf(O("f")).st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(O("f")), "content");
}

TEST_F(posix_open_flags, OpenErrorsMatchOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    WriteFile(base + "/file", "x");
    ASSERT_EQ(::mkdir((base + "/dir").c_str(), 0755), 0);
  }
  const auto open_with = [](int flags) {
    return [flags](const std::string& p) { return OpenClose(p, flags); };
  };
  EXPECT_EQ(ExpectSameErrno(open_with(O_RDONLY), "missing"), ENOENT);
  EXPECT_EQ(ExpectSameErrno(open_with(O_RDONLY), "file/below"), ENOTDIR);
  EXPECT_EQ(ExpectSameErrno(open_with(O_WRONLY), "dir"), EISDIR);
  EXPECT_EQ(ExpectSameErrno(open_with(O_RDONLY | O_DIRECTORY), "file"), ENOTDIR);
  EXPECT_EQ(ExpectSameErrno(open_with(O_RDONLY | O_DIRECTORY), "dir"), 0);
  EXPECT_EQ(ExpectSameErrno(open_with(O_CREAT | O_WRONLY), "missing-dir/new"), ENOENT);
}

TEST_F(posix_open_flags, DirectIoOfAlignedBuffersReachesOrigin) {
  constexpr size_t kSize = 8192;
  void* buffer = nullptr;
  ASSERT_EQ(::posix_memalign(&buffer, 4096, kSize), 0);
  std::memset(buffer, 'd', kSize);
  const int fd = ::open(V("direct").c_str(), O_CREAT | O_RDWR | O_DIRECT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::pwrite(fd, buffer, kSize, 4096), static_cast<ssize_t>(kSize));
  std::memset(buffer, 0, kSize);
  EXPECT_EQ(::pread(fd, buffer, kSize, 4096), static_cast<ssize_t>(kSize));
  EXPECT_EQ(static_cast<char*>(buffer)[kSize - 1], 'd');
  ::close(fd);
  std::free(buffer);
  EXPECT_EQ(ReadFile(O("direct")), std::string(4096, '\0') + std::string(kSize, 'd'));
}

}  // namespace
}  // namespace wtcachefs::testing
