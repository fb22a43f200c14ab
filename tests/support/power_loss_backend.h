// SPDX-License-Identifier: Apache-2.0
// PowerLossBackend: wraps the real io_uring backend and models a volatile write
// cache. Writes are kept in this process's memory (and served to reads from
// there) until their file is synced, when they reach the file and are fsync'ed.
// When the process dies, unsynced writes are lost exactly as a power loss would
// lose them. Syscalls made outside the backend (ftruncate, fstat) see only what
// was synced.
//
// Thread safety: Submit() may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "wtcachefs/io_backend.h"

namespace wtcachefs::testing {

class PowerLossBackend final : public IoBackend {
 public:
  explicit PowerLossBackend(IoBackend& real) : real_(real) {}
  Status Submit(std::span<IoRequest> requests) override;

 private:
  struct PendingWrite {
    off_t offset;
    std::string data;
  };
  Status Flush(int fd);

  IoBackend& real_;
  std::mutex mutex_;
  std::map<int, std::vector<PendingWrite>> pending_;  // per fd, in order; GUARDED_BY(mutex_)
};

}  // namespace wtcachefs::testing
