// SPDX-License-Identifier: Apache-2.0
// Status: the result of an operation in the wtcachefs core, carried instead of
// exceptions. A Status is either OK or an errno value plus a message a user can act on.
//
// Thread safety: a Status is a value; distinct objects may be used from any thread.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace wtcachefs {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  // `error` is a positive errno value; `message` says what failed and, where it can,
  // what to do about it.
  static Status Error(int error, std::string message) {
    return Status(error, std::move(message));
  }
  // Builds an error from the current errno, naming the operation that failed.
  static Status FromErrno(const std::string& what);

  bool ok() const { return error_ == 0; }
  int error() const { return error_; }  // 0 when ok()
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(int error, std::string message) : error_(error), message_(std::move(message)) {}

  int error_ = 0;
  std::string message_;
};

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {}     // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& value() const& { return std::get<T>(state_); }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace wtcachefs
