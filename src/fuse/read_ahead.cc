// SPDX-License-Identifier: Apache-2.0
#include "fuse/read_ahead.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace wtcachefs {
namespace {

// A mount point as /proc/self/mountinfo writes it: space, tab, newline and
// backslash as octal escapes.
std::string EscapeMountPoint(const std::string& path) {
  std::string escaped;
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      char octal[5];
      std::snprintf(octal, sizeof octal, "\\%03o", static_cast<unsigned char>(c));
      escaped += octal;
    } else {
      escaped += c;
    }
  }
  return escaped;
}

}  // namespace

std::string ReadAheadKnob(const std::string& view) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string mount_point = EscapeMountPoint(view);
  std::string line, device;
  // Fields: id, parent id, MAJOR:MINOR, root, mount point, ... The last mount
  // at the view is the one on top.
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, major_minor, root, point;
    if (fields >> id >> parent >> major_minor >> root >> point && point == mount_point) {
      device = major_minor;
    }
  }
  return device.empty() ? std::string() : "/sys/class/bdi/" + device + "/read_ahead_kb";
}

Status SetViewReadAhead(const std::string& view, uint64_t bytes) {
  const std::string knob = ReadAheadKnob(view);
  if (knob.empty()) {
    return Status::Error(ENOENT, "the view '" + view + "' is not in /proc/self/mountinfo");
  }
  std::ofstream out(knob);
  out << bytes / 1024 << "\n";
  out.close();
  if (!out) return Status::Error(EACCES, "cannot write " + knob);
  return Status::Ok();
}

}  // namespace wtcachefs
