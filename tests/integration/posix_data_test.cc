// SPDX-License-Identifier: Apache-2.0
// Data paths other than read/write: copy_file_range(2) and shared mmap through
// VIEW change origin's bytes, and reads through VIEW then see exactly origin's.
// Each runs over a local origin (against a reference directory beside it) and
// over an sshfs origin through OpenSSH's sftp server on 127.0.0.1 (against a
// reference directory on a second sshfs mount of the same server).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "integration/posix_helpers.h"
#include "support/sftp_origin.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

enum class DataOrigin { kLocal, kSftp };

class posix_data : public ::testing::TestWithParam<DataOrigin> {
 protected:
  void SetUp() override {
    if (GetParam() == DataOrigin::kLocal) {
      mount_ = std::make_unique<MountedView>(std::vector<std::string>{"-o", "allow_other"});
      reference_ = mount_->dir().Sub("reference");
    } else {
      server_ = std::make_unique<SftpServer>();
      if (!server_->ok()) GTEST_SKIP() << server_->skip_reason();
      origin_ = std::make_unique<SshfsMount>(*server_, dir_.Sub("served"), dir_.Sub("origin"));
      ASSERT_TRUE(origin_->ok()) << origin_->failure();
      reference_mount_ = std::make_unique<SshfsMount>(*server_, dir_.Sub("served-reference"),
                                                      dir_.Sub("reference"));
      ASSERT_TRUE(reference_mount_->ok()) << reference_mount_->failure();
      reference_ = reference_mount_->path();
      mount_ = std::make_unique<MountedView>(ExistingOrigin{origin_->path()},
                                             std::vector<std::string>{"-o", "allow_other"});
    }
    ASSERT_TRUE(mount_->ok()) << mount_->failure();
  }
  void TearDown() override {
    mount_.reset();  // the view goes before the sshfs mounts under it
    origin_.reset();
    reference_mount_.reset();
  }

  std::string V(const std::string& rel) const { return mount_->ViewPath(rel); }
  std::string O(const std::string& rel) const { return mount_->OriginPath(rel); }
  std::string R(const std::string& rel) const { return reference_ + "/" + rel; }
  const std::string& view_root() const { return mount_->view(); }
  int ExpectSameErrno(const std::function<long(const std::string&)>& op,
                      const std::string& rel) {
    return ExpectSameErrnoIn(op, view_root(), reference_, rel);
  }

  TempDir dir_;
  std::unique_ptr<SftpServer> server_;
  std::unique_ptr<SshfsMount> origin_, reference_mount_;
  std::unique_ptr<MountedView> mount_;
  std::string reference_;
};

// copy_file_range between two files under `base`; returns the count or -1.
long CopyRange(const std::string& base, off_t in_offset, off_t out_offset, size_t length) {
  const int in = ::open((base + "/src").c_str(), O_RDONLY);
  const int out = ::open((base + "/dst").c_str(), O_WRONLY);
  if (in < 0 || out < 0) return -1;
  loff_t in_off = in_offset;
  loff_t out_off = out_offset;
  const long n = ::copy_file_range(in, &in_off, out, &out_off, length, 0);
  const int saved = errno;
  ::close(in);
  ::close(out);
  errno = saved;
  return n;
}

TEST_P(posix_data, CopyFileRangeCopiesOriginBytesAndCountsAsOnOrigin) {
  std::string source(300 * 1024, '\0');
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>('a' + i % 23);
  for (const std::string& base : {view_root(), reference_}) {
    WriteFile(base + "/src", source);
    WriteFile(base + "/dst", std::string(1000, '-'));
  }
  // Counts, including a short copy at the source's end, match origin.
  for (const auto& [in_offset, out_offset, length] :
       {std::tuple<off_t, off_t, size_t>{2, 0, 5}, {100, 500, 200 * 1024},
        {290 * 1024, 10, 64 * 1024}, {400 * 1024, 0, 10}}) {
    const long view_count = CopyRange(view_root(), in_offset, out_offset, length);
    const long reference_count = CopyRange(reference_, in_offset, out_offset, length);
    EXPECT_EQ(view_count, reference_count) << in_offset << " " << out_offset << " " << length;
  }
  EXPECT_EQ(ReadFile(O("dst")), ReadFile(R("dst")));
  EXPECT_EQ(ReadFile(V("dst")), ReadFile(R("dst")));
  EXPECT_EQ(LstatOf(V("dst")).st_size, LstatOf(R("dst")).st_size);
  // Overlapping ranges in one file are refused, as on origin.
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              const int fd = ::open(p.c_str(), O_RDWR);
              loff_t in_off = 0, out_off = 10;
              const long n = ::copy_file_range(fd, &in_off, fd, &out_off, 100, 0);
              const int saved = errno;
              ::close(fd);
              errno = saved;
              return n;
            }, "src"), EINVAL);
}

TEST_P(posix_data, CopyFileRangeOverDataAlreadyReadIsSeenThroughTheView) {
  WriteFile(V("src"), std::string(128 * 1024, 'n'));
  WriteFile(V("dst"), std::string(128 * 1024, 'o'));
  // Reading first lets the page cache and the cache engine hold the old bytes.
  EXPECT_EQ(ReadFile(V("dst")), std::string(128 * 1024, 'o'));
  EXPECT_EQ(ReadFile(V("dst")), std::string(128 * 1024, 'o'));
  ASSERT_EQ(CopyRange(view_root(), 0, 4096, 64 * 1024), 64 * 1024);
  const std::string expected =
      std::string(4096, 'o') + std::string(64 * 1024, 'n') + std::string(60 * 1024, 'o');
  EXPECT_TRUE(ReadFile(O("dst")) == expected) << "origin bytes differ";
  EXPECT_TRUE(ReadFile(V("dst")) == expected) << "view bytes differ";
  const int fd = ::open(V("dst").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string middle(8192, '\0');
  ASSERT_EQ(::pread(fd, middle.data(), middle.size(), 32 * 1024), 8192);
  EXPECT_TRUE(middle == std::string(8192, 'n'));
  ::close(fd);
}

TEST_P(posix_data, SharedMmapWriteReachesOriginAfterMsync) {
  WriteFile(V("m"), std::string(3 * 4096, '-'));
  const int fd = ::open(V("m").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  char* bytes = static_cast<char*>(map);
  std::memcpy(bytes + 4096 + 10, "mapped", 6);
  std::memcpy(bytes + 3 * 4096 - 4, "end!", 4);
  ASSERT_EQ(::msync(map, 3 * 4096, MS_SYNC), 0);
  std::string expected(3 * 4096, '-');
  expected.replace(4096 + 10, 6, "mapped");
  expected.replace(3 * 4096 - 4, 4, "end!");
  EXPECT_TRUE(ReadFile(O("m")) == expected) << "origin bytes differ after msync";
  // A write through the view is seen by the mapping.
  ASSERT_EQ(::pwrite(fd, "written", 7, 100), 7);
  EXPECT_EQ(std::string(bytes + 100, 7), "written");
  ::munmap(map, 3 * 4096);
  ::close(fd);
  expected.replace(100, 7, "written");
  EXPECT_TRUE(ReadFile(O("m")) == expected) << "origin bytes differ after close";
  EXPECT_TRUE(ReadFile(V("m")) == expected) << "view bytes differ";
  EXPECT_EQ(LstatOf(V("m")).st_size, 3 * 4096);
}

TEST_P(posix_data, PrivateMmapWritesNeverReachOrigin) {
  WriteFile(V("m"), std::string(4096, '-'));
  const int fd = ::open(V("m").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  std::memcpy(map, "private", 7);
  ::munmap(map, 4096);
  ::close(fd);
  EXPECT_EQ(ReadFile(O("m")), std::string(4096, '-'));
}

INSTANTIATE_TEST_SUITE_P(Origins, posix_data,
                         ::testing::Values(DataOrigin::kLocal, DataOrigin::kSftp),
                         [](const ::testing::TestParamInfo<DataOrigin>& param_info) {
                           return param_info.param == DataOrigin::kLocal ? "Local" : "Sftp";
                         });

}  // namespace
}  // namespace wtcachefs::testing
