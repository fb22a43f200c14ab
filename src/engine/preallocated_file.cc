// SPDX-License-Identifier: Apache-2.0
#include "engine/preallocated_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs {

Result<UniqueFd> OpenPreallocated(const std::string& path, off_t size, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status::FromErrno("cannot open " + what + " '" + path + "'");
  // An existing file keeps its mode if someone loosened it: tighten it again.
  if (::fchmod(fd.get(), 0600) != 0) {
    return Status::FromErrno("cannot set mode 0600 on '" + path + "'");
  }
  if (::fallocate(fd.get(), 0, 0, size) != 0) {
    const int error = errno;
    if (error == ENOSPC) {
      return Status::Error(error, "not enough space for " + what + " '" + path + "' of " +
                                      std::to_string(size) + " bytes: choose a smaller cache size");
    }
    if (error != EOPNOTSUPP || ::ftruncate(fd.get(), size) != 0) {
      return Status::Error(error,
                           "cannot allocate " + what + " '" + path + "': " + std::strerror(error));
    }
  }
  return fd;
}

Status TrimTo(int fd, off_t size, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("cannot stat " + what);
  if (st.st_size > size && ::ftruncate(fd, size) != 0) {
    return Status::FromErrno("cannot shrink " + what);
  }
  return Status::Ok();
}

}  // namespace wtcachefs
