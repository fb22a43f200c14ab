// SPDX-License-Identifier: Apache-2.0
// Logger: the daemon's messages, to stderr until it detaches and to syslog
// (the daemon facility, so journald has them too) afterwards, filtered by the
// --log-level, which `wtcachefs tune` may change while mounted.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <string>

#include "wtcachefs/options.h"

namespace wtcachefs {

class Logger {
 public:
  explicit Logger(LogLevel level) : level_(level) {}

  // From now on, to syslog.
  void Detach();
  void set_level(LogLevel level) { level_ = level; }

  void Error(const std::string& message) const;
  void Warn(const std::string& message) const;
  void Info(const std::string& message) const;
  void Debug(const std::string& message) const;

 private:
  void Log(LogLevel level, const std::string& message) const;

  std::atomic<LogLevel> level_;
  std::atomic<bool> detached_{false};
};

}  // namespace wtcachefs
