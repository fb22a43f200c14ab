// SPDX-License-Identifier: Apache-2.0
#include "engine/origin_only_engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "engine/privilege_bits.h"

namespace wtcachefs {
namespace {

class OriginFile final : public OpenFile {
 public:
  using DropListener = std::function<void(uint64_t dev, uint64_t ino)>;

  OriginFile(UniqueFd fd, const DropListener& dropped) : fd_(std::move(fd)), dropped_(dropped) {}

  Result<size_t> Read(off_t offset, std::span<char> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                                offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("read origin");
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Result<size_t> Write(off_t offset, std::span<const char> data,
                       const ChangeCaller& caller) override {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                                 offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("write origin");
      done += static_cast<size_t>(n);
    }
    if (Status s = Changed(caller); !s.ok()) return s;
    return done;
  }

  Status Truncate(off_t size, const ChangeCaller& caller) override {
    if (::ftruncate(fd_.get(), size) != 0) return Status::FromErrno("truncate origin");
    return Changed(caller);
  }

  Status Sync(bool data_only) override {
    const int rc = data_only ? ::fdatasync(fd_.get()) : ::fsync(fd_.get());
    return rc == 0 ? Status::Ok() : Status::FromErrno("sync origin");
  }

  Status Allocate(int mode, off_t offset, off_t length, const ChangeCaller& caller) override {
    if (::fallocate(fd_.get(), mode, offset, length) != 0) {
      return Status::FromErrno("fallocate origin");
    }
    return Changed(caller);
  }

  Result<size_t> CopyTo(off_t offset, OpenFile& dest, off_t dest_offset, size_t length,
                        unsigned flags, const ChangeCaller& caller) override {
    auto* target = dynamic_cast<OriginFile*>(&dest);
    if (target == nullptr) return Status::Error(EXDEV, "copy between different engines");
    loff_t in = offset;
    loff_t out = dest_offset;
    const ssize_t n = ::copy_file_range(fd_.get(), &in, target->fd_.get(), &out, length, flags);
    if (n < 0) return Status::FromErrno("copy_file_range on origin");
    if (n > 0) {
      if (Status s = target->Changed(caller); !s.ok()) return s;
    }
    return static_cast<size_t>(n);
  }

  int origin_fd() const override { return fd_.get(); }

 private:
  // After a data change: the caller's privilege bits (engine/privilege_bits.h).
  Status Changed(const ChangeCaller& caller) {
    bool dropped = false;
    if (const int error = DropPrivilegeBitsAfterDataChange(fd_.get(), caller, &dropped)) {
      return Status::Error(error, "clear the setuid and setgid bits on origin");
    }
    struct stat st;
    if (dropped && dropped_ && ::fstat(fd_.get(), &st) == 0) dropped_(st.st_dev, st.st_ino);
    return Status::Ok();
  }

  UniqueFd fd_;
  const DropListener& dropped_;
};

}  // namespace

Result<std::unique_ptr<OpenFile>> OriginOnlyEngine::Open(UniqueFd origin_fd) {
  return std::unique_ptr<OpenFile>(new OriginFile(std::move(origin_fd), privilege_drop_listener_));
}

}  // namespace wtcachefs
