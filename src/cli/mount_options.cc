// SPDX-License-Identifier: Apache-2.0
#include "cli/mount_options.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <string_view>

namespace wtcachefs {
namespace {

// Kernel/FUSE mount options that libfuse 3.14 accepts and we pass on unchanged.
constexpr std::array<std::string_view, 16> kKernelFlags = {
    "rw",    "ro",      "dev",  "nodev", "suid",    "nosuid",      "exec",       "noexec",
    "atime", "noatime", "sync", "async", "dirsync", "allow_other", "allow_root", "auto_unmount"};
constexpr std::array<std::string_view, 1> kKernelValued = {"fsname"};

// Access-time flags libfuse 3.14 cannot pass to the kernel ("unknown option").
// These name what a FUSE mount does anyway, so there is nothing to pass:
constexpr std::array<std::string_view, 3> kDefaultAtimeFlags = {"relatime", "diratime",
                                                                "nostrictatime"};
// and these would change it, so they are refused rather than silently dropped.
constexpr std::array<std::string_view, 3> kUnsupportedAtimeFlags = {"norelatime", "nodiratime",
                                                                    "strictatime"};

// Options meaningful only to mount(8), fstab or systemd.
constexpr std::array<std::string_view, 11> kIgnoredFlags = {
    "defaults", "auto", "noauto", "nofail", "_netdev", "user",
    "users",    "nouser", "owner", "group", "lazytime"};

// wtcachefs options that are flags and take no value.
constexpr std::array<std::string_view, 6> kWtcachefsFlags = {
    "reset_cache", "default_permissions", "no_default_permissions", "foreground", "debug",
    "serial_writethrough"};

bool Contains(auto& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string Normalize(std::string_view name) {
  std::string normalized(name);
  std::replace(normalized.begin(), normalized.end(), '-', '_');
  return normalized;
}

Status ParseSeconds(const std::string& name, const std::string& value, double& out) {
  double parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(parsed)) {
    return Status::Error(EINVAL, "option " + name + "=" + value +
                                     " is not a number of seconds (example: " + name +
                                     "=1.5)");
  }
  out = parsed;
  return Status::Ok();
}

Status ParseUnsigned(const std::string& name, const std::string& value, unsigned& out) {
  unsigned parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return Status::Error(EINVAL, "option " + name + "=" + value +
                                     " is not a whole number (example: " + name + "=16)");
  }
  out = parsed;
  return Status::Ok();
}

// Every option that takes a value, with what a valid value looks like.
constexpr std::pair<std::string_view, ValueHint> kValueHints[] = {
    {"cache", {"a directory", "/var/cache/wtcachefs"}},
    {"attr_timeout", {"a number of seconds", "1.5"}},
    {"entry_timeout", {"a number of seconds", "1.5"}},
    {"revalidate", {"a number of seconds", "1"}},
    {"sweep_interval", {"a number of seconds", "1"}},
    {"block_size", {"a power of two from 4K to 4M", "64K"}},
    {"cache_size", {"a size", "10G"}},
    {"policy", {"lru, 2q or arc", "arc"}},
    {"promote_after", {"a whole number from 1 to 255", "2"}},
    {"read_ahead", {"a size up to 1G", "4M"}},
    {"sequential_cutoff", {"a size (0: off)", "4M"}},
    {"log_level", {"error, warning, info or debug", "info"}},
    {"write_policy", {"allocate or around", "around"}},
    {"mrc", {"on or off", "off"}},
    {"max_threads", {"a whole number from 1 to 1024", "16"}},
    {"transport", {"auto, io_uring or dev_fuse", "io_uring"}},
    {"fsname", {"a name", "slowdisk"}},
};

}  // namespace

ValueHint HintFor(std::string_view name) {
  for (const auto& [option, hint] : kValueHints) {
    if (option == name) return hint;
  }
  return {};
}

Status MissingValue(const std::string& name, bool flag) {
  const ValueHint hint = HintFor(name);
  std::string dashed = name;
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  const std::string written = flag ? "--" + dashed : "-o " + name + "=";
  const std::string example = flag ? "--" + dashed + " " + std::string(hint.example)
                                   : "-o " + name + "=" + std::string(hint.example);
  return Status::Error(EINVAL, "option " + written + " needs a value: give " +
                                   std::string(hint.kind) + " (example: " + example + ")");
}

Result<uint64_t> ParseSize(const std::string& name, const std::string& value) {
  uint64_t number = 0;
  const char* end = value.data() + value.size();
  const auto [rest, ec] = std::from_chars(value.data(), end, number);
  unsigned shift = 0;
  bool ok = ec == std::errc() && rest != value.data();
  if (ok && rest != end) {
    switch (rest + 1 == end ? *rest : '?') {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: ok = false;
    }
  }
  if (!ok || (shift > 0 && number > (~uint64_t{0} >> shift))) {
    return Status::Error(EINVAL, "option " + name + "=" + value +
                                     " is not a size (examples: " + name + "=65536, " + name +
                                     "=64K, " + name + "=10G)");
  }
  return number << shift;
}

namespace {

Status ApplyOne(const std::string& option, Options& options) {
  const size_t eq = option.find('=');
  const std::string name = Normalize(option.substr(0, eq));
  const bool has_value = eq != std::string::npos;
  const std::string value = has_value ? option.substr(eq + 1) : std::string();
  auto require_value = [&]() -> Status {
    if (has_value && !value.empty()) return Status::Ok();
    return MissingValue(name, false);
  };

  if (name == "cache") {
    if (Status s = require_value(); !s.ok()) return s;
    options.cache = value;
    return Status::Ok();
  }
  if (name == "attr_timeout" || name == "entry_timeout" || name == "revalidate" ||
      name == "sweep_interval") {
    if (Status s = require_value(); !s.ok()) return s;
    double& seconds = name == "attr_timeout"    ? options.attr_timeout
                      : name == "entry_timeout" ? options.entry_timeout
                      : name == "revalidate"    ? options.revalidate
                                                : options.sweep_interval;
    if (Status s = ParseSeconds(name, value, seconds); !s.ok()) return s;
    if (seconds < 0) {
      return Status::Error(EINVAL, "option " + name + "=" + value +
                                       " is negative: give a number of seconds >= 0");
    }
    return Status::Ok();
  }
  if (name == "block_size" || name == "cache_size") {
    if (Status s = require_value(); !s.ok()) return s;
    auto size = ParseSize(name, value);
    if (!size.ok()) return size.status();
    if (size.value() == 0) {
      return Status::Error(EINVAL, "option " + name + "=" + value +
                                       " is not a size: leave the option out for the "
                                       "default, or give a size (example: " +
                                       name + (name == "cache_size" ? "=10G)" : "=64K)"));
    }
    if (name == "cache_size") {
      options.cache_size = size.value();
    } else if (size.value() > (4u << 20)) {
      return Status::Error(EINVAL, "option block_size=" + value + " is larger than 4M");
    } else {
      options.block_size = static_cast<uint32_t>(size.value());
    }
    return Status::Ok();
  }
  if (name == "policy") {
    if (Status s = require_value(); !s.ok()) return s;
    const std::optional<PolicyKind> kind = PolicyByName(value);
    if (!kind) {
      return Status::Error(EINVAL, "option policy=" + value +
                                       " is not a cache policy: give lru, 2q or arc");
    }
    options.policy = *kind;
    return Status::Ok();
  }
  if (name == "promote_after") {
    if (Status s = require_value(); !s.ok()) return s;
    unsigned misses = 0;
    if (Status s = ParseUnsigned(name, value, misses); !s.ok()) return s;
    if (misses == 0 || misses > 255) {
      return Status::Error(EINVAL, "option promote_after=" + value +
                                       " is out of range: give 1 (promote every miss) to 255");
    }
    options.promote_after = misses;
    return Status::Ok();
  }
  if (name == "read_ahead") {
    if (Status s = require_value(); !s.ok()) return s;
    auto size = ParseSize(name, value);
    if (!size.ok()) return size.status();
    if (size.value() > (uint64_t{1} << 30)) {
      return Status::Error(EINVAL, "option read_ahead=" + value +
                                       " is too large: give at most 1G (or 0 for the "
                                       "kernel's 128K)");
    }
    options.read_ahead = size.value();
    return Status::Ok();
  }
  if (name == "sequential_cutoff") {
    if (Status s = require_value(); !s.ok()) return s;
    auto size = ParseSize(name, value);
    if (!size.ok()) return size.status();
    options.sequential_cutoff = size.value();
    return Status::Ok();
  }
  if (name == "log_level") {
    if (Status s = require_value(); !s.ok()) return s;
    constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
        {"error", LogLevel::kError},
        {"warning", LogLevel::kWarning},
        {"info", LogLevel::kInfo},
        {"debug", LogLevel::kDebug}};
    for (const auto& [level_name, level] : kLevels) {
      if (value == level_name) {
        options.log_level = level;
        return Status::Ok();
      }
    }
    return Status::Error(EINVAL, "option log_level=" + value +
                                     " is not a log level: give error, warning, info or debug");
  }
  if (name == "write_policy") {
    if (Status s = require_value(); !s.ok()) return s;
    if (value != "allocate" && value != "around") {
      return Status::Error(EINVAL, "option write_policy=" + value +
                                       " is not a write policy: give allocate or around");
    }
    options.write_allocate = value == "allocate";
    return Status::Ok();
  }
  if (name == "mrc") {
    if (Status s = require_value(); !s.ok()) return s;
    if (value != "on" && value != "off") {
      return Status::Error(
          EINVAL, "option mrc=" + value + " is neither on nor off (the live miss-ratio curve)");
    }
    options.miss_ratio_curve = value == "on";
    return Status::Ok();
  }
  if (name == "serial_writethrough" && !has_value) {
    options.serial_writethrough = true;
    return Status::Ok();
  }
  if (name == "reset_cache" && !has_value) {
    options.reset_cache = true;
    return Status::Ok();
  }
  if (name == "transport") {
    if (Status s = require_value(); !s.ok()) return s;
    if (value == "auto") {
      options.transport = TransportChoice::kAuto;
    } else if (value == "io_uring") {
      options.transport = TransportChoice::kIoUring;
    } else if (value == "dev_fuse") {
      options.transport = TransportChoice::kDevFuse;
    } else {
      return Status::Error(EINVAL, "option transport=" + value +
                                       " is not a transport: give auto, io_uring or dev_fuse");
    }
    return Status::Ok();
  }
  if (name == "max_threads") {
    if (Status s = require_value(); !s.ok()) return s;
    return ParseUnsigned(name, value, options.max_threads);
  }
  if (name == "default_permissions" && !has_value) {
    options.default_permissions = true;
    return Status::Ok();
  }
  if (name == "no_default_permissions" && !has_value) {
    options.default_permissions = false;
    return Status::Ok();
  }
  if (name == "foreground" && !has_value) {
    options.foreground = true;
    return Status::Ok();
  }
  if (name == "debug" && !has_value) {
    options.debug = options.foreground = true;
    return Status::Ok();
  }
  if (has_value && (Contains(kWtcachefsFlags, name) || Contains(kKernelFlags, name) ||
                    Contains(kDefaultAtimeFlags, name) || Contains(kIgnoredFlags, name))) {
    return Status::Error(EINVAL, "option '" + option + "' takes no value: write -o " + name);
  }
  if (!has_value && Contains(kKernelValued, name)) return MissingValue(name, false);
  if (!has_value && Contains(kDefaultAtimeFlags, name)) return Status::Ok();
  if (Contains(kUnsupportedAtimeFlags, name)) {
    return Status::Error(EINVAL, "mount option '" + option +
                                     "' cannot be passed to a FUSE mount by libfuse 3.14: "
                                     "remove it (noatime is supported)");
  }
  if (name == "max_read") {
    return Status::Error(EINVAL, "mount option '" + option +
                                     "' is not supported (wtcachefs sets its own request "
                                     "sizes): remove it");
  }
  if (name == "blksize") {
    return Status::Error(EINVAL, "mount option '" + option +
                                     "' applies only to block-device (fuseblk) mounts: "
                                     "remove it");
  }
  if (!has_value && Contains(kKernelFlags, name)) {
    options.kernel_options.push_back(name);
    return Status::Ok();
  }
  if (has_value && Contains(kKernelValued, name)) {
    if (Status s = require_value(); !s.ok()) return s;
    options.kernel_options.push_back(name + "=" + value);
    return Status::Ok();
  }
  if ((!has_value && Contains(kIgnoredFlags, name)) || name.rfind("x_", 0) == 0 ||
      name == "comment" || name == "uhelper" || name == "helper") {
    return Status::Ok();
  }
  return Status::Error(EINVAL, "unknown mount option '" + option +
                                   "': remove it, or see 'man wtcachefs' for the options");
}

}  // namespace

std::vector<std::string> SplitMountOptions(const std::string& list) {
  std::vector<std::string> parts;
  std::string current;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == '\\' && i + 1 < list.size()) {
      current.push_back(list[++i]);
    } else if (list[i] == ',') {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(list[i]);
    }
  }
  parts.push_back(std::move(current));
  std::erase_if(parts, [](const std::string& part) { return part.empty(); });
  return parts;
}

Status ApplyMountOptions(const std::string& list, Options& options) {
  for (const std::string& option : SplitMountOptions(list)) {
    if (Status s = ApplyOne(option, options); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace wtcachefs
