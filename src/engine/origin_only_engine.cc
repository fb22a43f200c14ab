// OriginOnlyEngine: data goes straight to origin. Serves as the pass-through path.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "wtcachefs/data_engine.h"

namespace wtcachefs {
namespace {

class OriginOnlyFile final : public OpenFile {
 public:
  explicit OriginOnlyFile(UniqueFd fd) : fd_(std::move(fd)) {}

  Result<size_t> Read(off_t offset, std::span<char> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                                offset + static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("read origin");
      }
      if (n == 0) break;  // EOF
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Result<size_t> Write(off_t offset, std::span<const char> data) override {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                                 offset + static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (done > 0) break;  // report the partial write, as write(2) does
        return Status::FromErrno("write origin");
      }
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Status Truncate(off_t size) override {
    if (::ftruncate(fd_.get(), size) != 0) return Status::FromErrno("truncate origin");
    return Status::Ok();
  }

  Status Sync(bool data_only) override {
    const int rc = data_only ? ::fdatasync(fd_.get()) : ::fsync(fd_.get());
    if (rc != 0) return Status::FromErrno("sync origin");
    return Status::Ok();
  }

  Status Allocate(int mode, off_t offset, off_t length) override {
    if (::fallocate(fd_.get(), mode, offset, length) != 0) {
      return Status::FromErrno("fallocate origin");
    }
    return Status::Ok();
  }

  Result<size_t> CopyTo(off_t offset, OpenFile& dest, off_t dest_offset, size_t length,
                        unsigned flags) override {
    loff_t in = offset;
    loff_t out = dest_offset;
    const ssize_t n =
        ::copy_file_range(fd_.get(), &in, dest.origin_fd(), &out, length, flags);
    if (n < 0) return Status::FromErrno("copy_file_range on origin");
    return static_cast<size_t>(n);
  }

  int origin_fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
};

class OriginOnlyEngine final : public DataEngine {
 public:
  Result<std::unique_ptr<OpenFile>> Open(UniqueFd origin_fd) override {
    return std::unique_ptr<OpenFile>(new OriginOnlyFile(std::move(origin_fd)));
  }
};

}  // namespace

std::unique_ptr<DataEngine> MakeOriginOnlyEngine() {
  return std::make_unique<OriginOnlyEngine>();
}

}  // namespace wtcachefs
