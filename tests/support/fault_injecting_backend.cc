// SPDX-License-Identifier: Apache-2.0
#include "support/fault_injecting_backend.h"

#include <chrono>

namespace wtcachefs::testing {

Status FaultInjectingBackend::Submit(std::span<IoRequest> requests) {
  std::vector<IoRequest*> failed;
  std::vector<IoRequest> pass;
  std::vector<IoRequest*> pass_owner;
  bool hold = false;
  {
    std::lock_guard lock(mutex_);
    std::vector<SeenRequest> seen;
    for (IoRequest& r : requests) {
      seen.push_back(SeenRequest{r.op, r.fd, r.offset, r.length});
      if (fail_match_ && fail_match_(r)) {
        r.result = -fail_error_;
        continue;
      }
      pass.push_back(r);
      pass_owner.push_back(&r);
      if (hold_match_ && hold_match_(r)) hold = true;
    }
    batches_.push_back(std::move(seen));
    if (hold) hold_match_ = nullptr;  // one batch per hold
  }
  if (!pass.empty()) {
    if (Status s = real_.Submit(pass); !s.ok()) return s;
  }
  for (size_t i = 0; i < pass.size(); ++i) pass_owner[i]->result = pass[i].result;
  if (hold) {
    std::unique_lock lock(mutex_);
    holding_ = true;
    released_ = false;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    holding_ = false;
  }
  return Status::Ok();
}

int FaultInjectingBackend::OriginFaultOf(OriginCall call, int fd) const {
  std::lock_guard lock(mutex_);
  for (const OriginFault& fault : origin_faults_) {
    if (fault.call == call && fault.fd == fd) return fault.error;
  }
  return 0;
}

int FaultInjectingBackend::Truncate(int fd, off_t size) {
  if (const int error = OriginFaultOf(OriginCall::kTruncate, fd)) return error;
  return real_.Truncate(fd, size);
}

int FaultInjectingBackend::Allocate(int fd, int mode, off_t offset, off_t length) {
  if (const int error = OriginFaultOf(OriginCall::kAllocate, fd)) return error;
  return real_.Allocate(fd, mode, offset, length);
}

int64_t FaultInjectingBackend::CopyRange(int from_fd, off_t from, int to_fd, off_t to,
                                         size_t length, unsigned flags) {
  if (const int error = OriginFaultOf(OriginCall::kCopyRange, to_fd)) return -error;
  return real_.CopyRange(from_fd, from, to_fd, to, length, flags);
}

int FaultInjectingBackend::Stat(int fd, struct stat* st) {
  if (const int error = OriginFaultOf(OriginCall::kStat, fd)) return error;
  std::function<void()> during;
  {
    std::lock_guard lock(mutex_);
    during = during_stats_;
  }
  if (during) during();
  return real_.Stat(fd, st);
}

void FaultInjectingBackend::RunDuringStats(std::function<void()> during) {
  std::lock_guard lock(mutex_);
  during_stats_ = std::move(during);
}

void FaultInjectingBackend::FailOriginCall(OriginCall call, int fd, int error) {
  std::lock_guard lock(mutex_);
  origin_faults_.push_back(OriginFault{call, fd, error});
}

void FaultInjectingBackend::FailWhen(Match match, int error) {
  std::lock_guard lock(mutex_);
  fail_match_ = std::move(match);
  fail_error_ = error;
}

void FaultInjectingBackend::HoldCompletionWhen(Match match) {
  std::lock_guard lock(mutex_);
  hold_match_ = std::move(match);
}

bool FaultInjectingBackend::WaitUntilHeld() {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return holding_; });
}

void FaultInjectingBackend::Release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  changed_.notify_all();
}

void FaultInjectingBackend::ClearFaults() {
  std::lock_guard lock(mutex_);
  fail_match_ = nullptr;
  hold_match_ = nullptr;
  origin_faults_.clear();
  during_stats_ = nullptr;
}

std::vector<std::vector<SeenRequest>> FaultInjectingBackend::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

void FaultInjectingBackend::ClearHistory() {
  std::lock_guard lock(mutex_);
  batches_.clear();
}

FaultInjectingBackend::Match WritesTo(int fd) {
  return [fd](const IoRequest& r) { return r.op == IoRequest::Op::kWrite && r.fd == fd; };
}

FaultInjectingBackend::Match ReadsFrom(int fd) {
  return [fd](const IoRequest& r) { return r.op == IoRequest::Op::kRead && r.fd == fd; };
}

}  // namespace wtcachefs::testing
