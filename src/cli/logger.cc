// SPDX-License-Identifier: Apache-2.0
#include "cli/logger.h"

#include <syslog.h>

#include <iostream>

namespace wtcachefs {

void Logger::Detach() {
  ::openlog("wtcachefs", LOG_PID, LOG_DAEMON);
  detached_ = true;
}

void Logger::Error(const std::string& message) const { Log(LogLevel::kError, message); }
void Logger::Warn(const std::string& message) const {
  Log(LogLevel::kWarning, "warning: " + message);
}
void Logger::Info(const std::string& message) const { Log(LogLevel::kInfo, message); }
void Logger::Debug(const std::string& message) const { Log(LogLevel::kDebug, message); }

void Logger::Log(LogLevel level, const std::string& message) const {
  if (level > level_.load()) return;
  if (detached_) {
    constexpr int kPriority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    ::syslog(kPriority[static_cast<int>(level)], "%s", message.c_str());
  } else {
    std::cerr << "wtcachefs: " + message + "\n" << std::flush;
  }
}

}  // namespace wtcachefs
