// SPDX-License-Identifier: Apache-2.0
#include "support/power_loss_backend.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace wtcachefs::testing {

Status PowerLossBackend::Flush(int fd) {
  // Called with mutex_ held: pending writes reach the file in order.
  for (const PendingWrite& w : pending_[fd]) {
    if (::pwrite(fd, w.data.data(), w.data.size(), w.offset) !=
        static_cast<ssize_t>(w.data.size())) {
      return Status::FromErrno("applying a buffered write");
    }
  }
  pending_.erase(fd);
  return Status::Ok();
}

Status PowerLossBackend::Submit(std::span<IoRequest> requests) {
  std::lock_guard lock(mutex_);
  for (IoRequest& r : requests) {
    switch (r.op) {
      case IoRequest::Op::kWrite:
        pending_[r.fd].push_back(PendingWrite{r.offset, std::string(r.buffer, r.length)});
        r.result = static_cast<int64_t>(r.length);
        break;
      case IoRequest::Op::kFsync:
      case IoRequest::Op::kFdatasync: {
        if (Status s = Flush(r.fd); !s.ok()) return s;
        std::vector<IoRequest> sync = {r};
        if (Status s = real_.Submit(sync); !s.ok()) return s;
        r.result = sync[0].result;
        break;
      }
      case IoRequest::Op::kRead: {
        std::vector<IoRequest> read = {r};
        if (Status s = real_.Submit(read); !s.ok()) return s;
        int64_t got = read[0].result;
        if (got < 0) {
          r.result = got;
          break;
        }
        // Overlay buffered writes; they may extend the file.
        size_t end = static_cast<size_t>(got);
        for (const PendingWrite& w : pending_[r.fd]) {
          const off_t from = std::max(w.offset, r.offset);
          const off_t to = std::min<off_t>(w.offset + static_cast<off_t>(w.data.size()),
                                           r.offset + static_cast<off_t>(r.length));
          if (from >= to) continue;
          // A gap between the real end and this write reads as zeros.
          if (static_cast<size_t>(from - r.offset) > end) {
            std::memset(r.buffer + end, 0, static_cast<size_t>(from - r.offset) - end);
          }
          std::memcpy(r.buffer + (from - r.offset), w.data.data() + (from - w.offset),
                      static_cast<size_t>(to - from));
          end = std::max(end, static_cast<size_t>(to - r.offset));
        }
        r.result = static_cast<int64_t>(end);
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace wtcachefs::testing
