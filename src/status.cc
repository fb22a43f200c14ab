// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/status.h"

#include <cerrno>
#include <cstring>

namespace wtcachefs {

Status Status::FromErrno(const std::string& what) {
  const int error = errno != 0 ? errno : EIO;
  return Status(error, what + ": " + std::strerror(error));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_.empty() ? std::string(std::strerror(error_)) : message_;
}

}  // namespace wtcachefs
