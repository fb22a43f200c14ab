// SPDX-License-Identifier: Apache-2.0
#include "crash_writers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace wtcachefs::crash_soak {
namespace {

constexpr size_t kMaxWrite = 256 << 10;
constexpr uint64_t kSector = 512;
constexpr uint64_t kMaxOriginFile = 2 << 20;

// A length from 1 to `max`, small ones as likely as large ones on a log scale.
size_t SkewedLength(std::mt19937_64& random, size_t max) {
  const size_t bits = random() % 19;  // up to 256 KiB
  const size_t length = 1 + random() % (size_t{1} << bits);
  return length < max ? length : max;
}

uint64_t Below(std::mt19937_64& random, uint64_t bound) {
  return bound == 0 ? 0 : random() % bound;
}

// Pauses 0 to 2 ms between changes behind the mount: steady, but leaving the
// two CPUs of a small machine to the daemon and the view's writers too.
void Breathe(std::mt19937_64& random) {
  std::this_thread::sleep_for(std::chrono::microseconds(Below(random, 2000)));
}

bool WriteAll(int fd, const char* data, size_t length, uint64_t offset) {
  while (length > 0) {
    const ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

void FillRandom(std::mt19937_64& random, char* data, size_t length) {
  for (size_t i = 0; i < length; i += 8) {
    const uint64_t word = random();
    std::memcpy(data + i, &word, length - i < 8 ? length - i : 8);
  }
}

LoopingWriter::~LoopingWriter() { Stop(); }

void LoopingWriter::Start(uint64_t seed) {
  stop_ = false;
  error_.reset();
  steps_ = 0;
  thread_ = std::thread([this, seed] { Run(seed); });
}

void LoopingWriter::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool LoopingWriter::Fail(std::string what, int error) {
  if (!error_) error_ = WriterError{std::move(what), error, SteadyClock::now()};
  return false;
}

void LoopingWriter::Run(uint64_t seed) {
  std::mt19937_64 random(seed);
  if (Open()) {
    while (!stop_.load(std::memory_order_relaxed) && Step(random)) ++steps_;
  }
  Close();
}

ViewWriter::ViewWriter(std::string view_file, WrittenBytes* bytes)
    : view_file_(std::move(view_file)), bytes_(bytes) {
  buffer_ = static_cast<char*>(std::aligned_alloc(4096, kMaxWrite));
}

ViewWriter::~ViewWriter() {
  Stop();
  std::free(buffer_);
}

bool ViewWriter::Open() {
  writes_acknowledged_ = 0;
  syncs_acknowledged_ = 0;
  buffered_fd_ = ::open(view_file_.c_str(), O_RDWR | O_CLOEXEC);
  if (buffered_fd_ < 0) return Fail("open " + view_file_, errno);
  direct_fd_ = ::open(view_file_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (direct_fd_ < 0) return Fail("open O_DIRECT " + view_file_, errno);
  return true;
}

void ViewWriter::Close() {
  if (buffered_fd_ >= 0) ::close(buffered_fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
  buffered_fd_ = direct_fd_ = -1;
}

bool ViewWriter::Step(std::mt19937_64& random) {
  const uint64_t choice = Below(random, 10);
  if (choice < 5) return WriteBuffered(random) && (Below(random, 4) != 0 || Sync(random));
  if (choice < 9) return WriteDirect(random) && (Below(random, 4) != 0 || Sync(random));
  return Sync(random);
}

bool ViewWriter::WriteRecorded(int fd, const char* data, size_t length, uint64_t offset,
                               const char* kind) {
  bytes_->WriteIssued(offset, data, length);
  const ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
  if (n != static_cast<ssize_t>(length)) {
    const int error = n < 0 ? errno : EIO;
    return Fail(std::string(kind) + " pwrite of " + std::to_string(length) + " bytes at " +
                    std::to_string(offset) + " to " + view_file_ +
                    (n >= 0 ? " returned " + std::to_string(n) : ""),
                error);
  }
  bytes_->WriteAcknowledged(offset, length);
  ++writes_acknowledged_;
  return true;
}

bool ViewWriter::WriteBuffered(std::mt19937_64& random) {
  const uint64_t room = bytes_->end() - bytes_->begin();
  const size_t length = SkewedLength(random, room < kMaxWrite ? room : kMaxWrite);
  const uint64_t offset = bytes_->begin() + Below(random, room - length + 1);
  FillRandom(random, buffer_, length);
  return WriteRecorded(buffered_fd_, buffer_, length, offset, "buffered");
}

bool ViewWriter::WriteDirect(std::mt19937_64& random) {
  // Sector-aligned, as a VM issues them, or page-aligned.
  const uint64_t unit = Below(random, 2) == 0 ? kSector : 4096;
  const uint64_t first_unit = (bytes_->begin() + unit - 1) / unit;
  const uint64_t end_unit = bytes_->end() / unit;
  if (end_unit <= first_unit) return true;
  const uint64_t length_units =
      SkewedLength(random, std::min(kMaxWrite / unit, end_unit - first_unit));
  const uint64_t start_unit = first_unit + Below(random, end_unit - first_unit - length_units + 1);
  const size_t length = static_cast<size_t>(length_units * unit);
  FillRandom(random, buffer_, length);
  return WriteRecorded(direct_fd_, buffer_, length, start_unit * unit, "O_DIRECT");
}

bool ViewWriter::Sync(std::mt19937_64& random) {
  const int fd = Below(random, 2) == 0 ? buffered_fd_ : direct_fd_;
  const bool data_only = Below(random, 2) == 0;
  if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) {
    return Fail(std::string(data_only ? "fdatasync " : "fsync ") + view_file_, errno);
  }
  bytes_->Synced();
  ++syncs_acknowledged_;
  return true;
}

OriginFilesWriter::OriginFilesWriter(std::string origin_dir, int file_count)
    : dir_(std::move(origin_dir)), file_count_(file_count) {}

OriginFilesWriter::~OriginFilesWriter() { Stop(); }

std::string OriginFilesWriter::NameFor(int index) const {
  return dir_ + "/e" + std::to_string(index);
}

bool OriginFilesWriter::Step(std::mt19937_64& random) {
  Breathe(random);
  const std::string path = NameFor(static_cast<int>(Below(random, file_count_)));
  std::vector<char> data(SkewedLength(random, 512 << 10));
  FillRandom(random, data.data(), data.size());
  const uint64_t choice = Below(random, 12);
  if (choice == 11) {
    return ::unlink(path.c_str()) == 0 || errno == ENOENT || Fail("unlink " + path, errno);
  }
  if (choice == 10) {
    // Replaced whole: a new file under the old name.
    const std::string staged = path + ".new";
    const int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail("create " + staged, errno);
    const bool written = WriteAll(fd, data.data(), data.size(), 0);
    ::close(fd);
    if (!written) return Fail("write " + staged, errno);
    return ::rename(staged.c_str(), path.c_str()) == 0 || Fail("rename to " + path, errno);
  }
  const int flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | (choice == 9 ? O_TRUNC : 0) | (choice == 8 ? O_APPEND : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return Fail("open " + path, errno);
  struct stat st {};
  ::fstat(fd, &st);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  bool done = true;
  if (choice == 7) {
    done = ::ftruncate(fd, static_cast<off_t>(Below(random, kMaxOriginFile + 1))) == 0;
  } else if (choice == 8) {
    done = size >= kMaxOriginFile ||
           ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  } else {
    // In place (the size mostly kept: only the timestamps tell), or a rewrite.
    const uint64_t offset = size > data.size() ? Below(random, size - data.size() + 1) : 0;
    done = WriteAll(fd, data.data(), data.size(), offset);
  }
  const int error = errno;
  ::close(fd);
  return done || Fail("change " + path, error);
}

OriginRegionWriter::OriginRegionWriter(std::string image, uint64_t begin, uint64_t end)
    : image_(std::move(image)), begin_(begin), end_(end) {}

OriginRegionWriter::~OriginRegionWriter() { Stop(); }

bool OriginRegionWriter::Open() {
  fd_ = ::open(image_.c_str(), O_WRONLY | O_CLOEXEC);
  return fd_ >= 0 || Fail("open " + image_, errno);
}

void OriginRegionWriter::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool OriginRegionWriter::Step(std::mt19937_64& random) {
  Breathe(random);
  if (Below(random, 10) == 0) {
    constexpr uint64_t kUnit = 64 << 10;
    const uint64_t units = 1 + Below(random, 16);
    const uint64_t first = begin_ / kUnit + Below(random, (end_ - begin_) / kUnit - units + 1);
    return ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       static_cast<off_t>(first * kUnit), static_cast<off_t>(units * kUnit)) == 0 ||
           Fail("punch a hole in " + image_, errno);
  }
  std::vector<char> data(SkewedLength(random, 256 << 10));
  FillRandom(random, data.data(), data.size());
  const uint64_t offset = begin_ + Below(random, end_ - begin_ - data.size() + 1);
  return WriteAll(fd_, data.data(), data.size(), offset) || Fail("pwrite " + image_, errno);
}

}  // namespace wtcachefs::crash_soak
