// SPDX-License-Identifier: Apache-2.0
// wtcachefs_held_io: the wtcachefs daemon with an IO backend that can hold a
// batch's completion, for tests that prove what the FUSE reply waits for, and
// fail the cache's or the origin's IO, for fault tests.
//
// Controlled through files in $WTCACHEFS_TEST_CONTROL_DIR:
//   hold     present: the next batch with an origin write is performed, then its
//            completion is withheld; the file is removed
//   held     created while a completion is withheld; "batch" holds the batch as
//            one line ("origin-write cache-write ...")
//   release  create it to deliver the withheld completion
//   fail-cache   while present, every slot file request fails with EIO, undone
//   fail-origin  while present, every origin request fails with EIO, undone
// Test builds only; never installed.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/run.h"

namespace {

using wtcachefs::IoBackend;
using wtcachefs::IoRequest;
using wtcachefs::Status;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// "cache" for the slot file and its checksum file, "origin" for anything else.
std::string Side(int fd) {
  char target[4096] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ::readlink(link.c_str(), target, sizeof(target) - 1);
  const std::string path = target;
  const auto ends_with = [&](const std::string& name) {
    return path.size() >= name.size() &&
           path.compare(path.size() - name.size(), name.size(), name) == 0;
  };
  return ends_with("/slots") || ends_with("/checksums") ? "cache" : "origin";
}

const char* OpName(IoRequest::Op op) {
  switch (op) {
    case IoRequest::Op::kRead: return "read";
    case IoRequest::Op::kWrite: return "write";
    case IoRequest::Op::kFsync: return "fsync";
    case IoRequest::Op::kFdatasync: return "fdatasync";
  }
  return "?";
}

class HoldingBackend final : public IoBackend {
 public:
  HoldingBackend(std::unique_ptr<IoBackend> real, std::string control)
      : real_(std::move(real)), control_(std::move(control)) {}

  Status Submit(std::span<IoRequest> requests) override {
    bool origin_write = false;
    std::string line;
    for (const IoRequest& r : requests) {
      const std::string side = Side(r.fd);
      origin_write |= side == "origin" && r.op == IoRequest::Op::kWrite;
      line += side + "-" + OpName(r.op) + " ";
    }
    const bool hold = origin_write && Exists(control_ + "/hold") &&
                      ::unlink((control_ + "/hold").c_str()) == 0;
    Status status = SubmitWithFaults(requests);
    if (hold) {
      std::ofstream(control_ + "/batch") << line << "\n";
      std::ofstream(control_ + "/held").close();
      while (!Exists(control_ + "/release")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ::unlink((control_ + "/release").c_str());
      ::unlink((control_ + "/held").c_str());
    }
    return status;
  }

 private:
  // Requests of a failing side get -EIO and are not performed; the rest are.
  Status SubmitWithFaults(std::span<IoRequest> requests) {
    const bool fail_cache = Exists(control_ + "/fail-cache");
    const bool fail_origin = Exists(control_ + "/fail-origin");
    if (!fail_cache && !fail_origin) return real_->Submit(requests);
    std::vector<IoRequest> performed;
    std::vector<size_t> where;
    for (size_t i = 0; i < requests.size(); ++i) {
      const bool cache = Side(requests[i].fd) == "cache";
      if ((cache && fail_cache) || (!cache && fail_origin)) {
        requests[i].result = -EIO;
      } else {
        performed.push_back(requests[i]);
        where.push_back(i);
      }
    }
    if (performed.empty()) return Status::Ok();
    Status status = real_->Submit(performed);
    for (size_t k = 0; k < performed.size(); ++k) requests[where[k]].result = performed[k].result;
    return status;
  }

  std::unique_ptr<IoBackend> real_;
  const std::string control_;
};

}  // namespace

int main(int argc, char** argv) {
  const char* control = std::getenv("WTCACHEFS_TEST_CONTROL_DIR");
  return wtcachefs::RunWtcachefs(argc, argv, [control]() -> wtcachefs::Result<std::unique_ptr<IoBackend>> {
    auto real = wtcachefs::MakeUringBackend();
    if (!real.ok() || control == nullptr) return real;
    return std::unique_ptr<IoBackend>(new HoldingBackend(std::move(real).value(), control));
  });
}
