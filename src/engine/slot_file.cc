#include "engine/slot_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs {

Result<SlotFile> SlotFile::Open(const std::string& path, uint64_t slot_count,
                                uint32_t block_size) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status::FromErrno("cannot open the cache slot file '" + path + "'");
  // An existing file keeps its mode if someone loosened it: tighten it again.
  if (::fchmod(fd.get(), 0600) != 0) {
    return Status::FromErrno("cannot set mode 0600 on '" + path + "'");
  }
  const off_t size = static_cast<off_t>(slot_count * block_size);
  if (::fallocate(fd.get(), 0, 0, size) != 0) {
    const int error = errno;
    if (error == ENOSPC) {
      return Status::Error(error, "not enough space for a cache of " + std::to_string(size) +
                                      " bytes in '" + path + "': choose a smaller cache size");
    }
    if (error != EOPNOTSUPP || ::ftruncate(fd.get(), size) != 0) {
      return Status::Error(error, "cannot allocate the cache slot file '" + path +
                                      "': " + std::strerror(error));
    }
  }
  return SlotFile(std::move(fd), slot_count, block_size);
}

Status SlotFile::TrimToSize() {
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return Status::FromErrno("cannot stat the cache slot file");
  const off_t size = static_cast<off_t>(slot_count_ * block_size_);
  if (st.st_size > size && ::ftruncate(fd_.get(), size) != 0) {
    return Status::FromErrno("cannot shrink the cache slot file");
  }
  return Status::Ok();
}

}  // namespace wtcachefs
