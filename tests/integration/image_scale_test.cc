// SPDX-License-Identifier: Apache-2.0
// A 64 GiB sparse image in image mode: data lands where it was written across
// the whole range, origin stays sparse, and the daemon's memory stays bounded
// however much of the range is touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

#include "support/image_mount.h"

namespace wtcachefs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1 << 30;
constexpr uint64_t kImageSize = 64 * kGiB;
// Under AddressSanitizer the daemon's RSS measures ASan (its quarantine keeps
// freed memory): the bounds are checked in the normal build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

class AlignedFile {
 public:
  explicit AlignedFile(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC)) {
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, kMiB) == 0) buffer_.reset(static_cast<char*>(p));
  }
  ~AlignedFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0 && buffer_; }
  bool Write(uint64_t offset, const std::string& data) {
    std::memcpy(buffer_.get(), data.data(), data.size());
    return ::pwrite(fd_, buffer_.get(), data.size(), static_cast<off_t>(offset)) ==
           static_cast<ssize_t>(data.size());
  }
  std::string Read(uint64_t offset, size_t length) {
    const ssize_t n = ::pread(fd_, buffer_.get(), length, static_cast<off_t>(offset));
    return n < 0 ? std::string("<error>") : std::string(buffer_.get(), static_cast<size_t>(n));
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  int fd_;
  std::unique_ptr<char, Free> buffer_;
};

TEST(ImageScale, SixtyFourGibibyteSparseImageWithBoundedMemory) {
  ImageMount image(ImageKind::kFile, kImageSize);
  ASSERT_TRUE(image.setup_failure().empty()) << image.setup_failure();
  ASSERT_TRUE(image.Mount()) << image.failure();
  struct stat st;
  ASSERT_EQ(::stat(image.view_file().c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kImageSize);

  auto view = std::make_unique<AlignedFile>(image.view_file());
  ASSERT_TRUE(view->ok());
  const uint64_t written[] = {0, kGiB + 512, 17 * kGiB + 4096, 32 * kGiB, kImageSize - kMiB};
  for (size_t i = 0; i < std::size(written); ++i) {
    ASSERT_TRUE(view->Write(written[i], Pattern(kMiB, static_cast<uint32_t>(i)))) << written[i];
  }
  // Touch blocks all over the range: far more than the 64 MiB cache holds.
  const uint64_t touched = 4096;
  uint64_t resident_midway = 0;
  for (uint64_t i = 0; i < touched; ++i) {
    const uint64_t offset = (i * (kImageSize / touched) + 8 * kMiB) % kImageSize;
    ASSERT_EQ(view->Read(offset, 4096).size(), 4096u) << "at " << offset;
    if (i == touched / 8) resident_midway = ResidentBytes(image.daemon_pid());
  }
  const uint64_t resident_end = ResidentBytes(image.daemon_pid());
  for (size_t i = 0; i < std::size(written); ++i) {
    EXPECT_TRUE(view->Read(written[i], kMiB) == Pattern(kMiB, static_cast<uint32_t>(i)))
        << "VIEW at " << written[i];
  }
  EXPECT_EQ(view->Read(kImageSize, 4096).size(), 0u) << "a read at the end returns nothing";
  EXPECT_LE(StatusCounter(image.view(), "used_blocks"),
            StatusCounter(image.view(), "total_blocks"));

  // The daemon's memory does not grow with the range touched.
  RecordProperty("daemon_rss_bytes", std::to_string(resident_end));
  std::cout << "daemon RSS: " << resident_midway / kMiB << " MiB after " << touched / 8
            << " scattered reads, " << resident_end / kMiB << " MiB after " << touched << "\n";
  EXPECT_GT(resident_end, 0u);
  if (kMeasuresMemory) {
    EXPECT_LT(resident_end, 256 * kMiB);
    EXPECT_LT(resident_end, resident_midway + 32 * kMiB);
  }

  view.reset();  // an open file keeps the view busy
  ASSERT_TRUE(image.Unmount());
  // Origin holds the data and stayed sparse.
  const int origin = ::open(image.origin().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(origin, 0);
  for (size_t i = 0; i < std::size(written); ++i) {
    std::string bytes(kMiB, '\0');
    ASSERT_EQ(::pread(origin, bytes.data(), kMiB, static_cast<off_t>(written[i])),
              static_cast<ssize_t>(kMiB));
    EXPECT_TRUE(bytes == Pattern(kMiB, static_cast<uint32_t>(i))) << "ORIGIN at " << written[i];
  }
  ASSERT_EQ(::fstat(origin, &st), 0);
  ::close(origin);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kImageSize);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 64 * kMiB) << "origin was filled in";
}

}  // namespace
}  // namespace wtcachefs::testing
