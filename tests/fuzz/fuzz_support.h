// SPDX-License-Identifier: Apache-2.0
// Shared by the fuzz targets: a check that stops the fuzzer with a message
// (libFuzzer then saves the input that broke it), and helpers that compare and
// rebuild parser inputs for the round-trip properties.
//
// Thread safety: the fuzz targets are single-threaded; so is everything here.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "wtcachefs/options.h"

// Aborts with `what` when `condition` is false: a broken property is a finding
// just like a crash.
#define FUZZ_CHECK(condition, what)                                                            \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: property failed: %s: %s\n", __FILE__, __LINE__, #condition, \
                   std::string(what).c_str());                                                 \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace wtcachefs::fuzz {

// The fields the command line and -o options fill, compared one by one.
inline bool SameOptions(const Options& a, const Options& b) {
  return a.origin == b.origin && a.image_name == b.image_name && a.image_path == b.image_path &&
         a.cache == b.cache && a.view == b.view && a.foreground == b.foreground &&
         a.debug == b.debug &&
         // Bitwise, so that two NaN timeouts compare equal.
         std::bit_cast<uint64_t>(a.attr_timeout) == std::bit_cast<uint64_t>(b.attr_timeout) &&
         std::bit_cast<uint64_t>(a.entry_timeout) == std::bit_cast<uint64_t>(b.entry_timeout) &&
         a.block_size == b.block_size && a.cache_size == b.cache_size &&
         a.reset_cache == b.reset_cache && a.policy == b.policy &&
         a.promote_after == b.promote_after && a.sequential_cutoff == b.sequential_cutoff &&
         a.write_allocate == b.write_allocate && a.log_level == b.log_level &&
         a.serial_writethrough == b.serial_writethrough && a.read_ahead == b.read_ahead &&
         a.max_threads == b.max_threads && a.default_permissions == b.default_permissions &&
         a.kernel_options == b.kernel_options;
}

// One mount option written so that SplitMountOptions gives it back whole.
inline std::string EscapeMountOption(const std::string& option) {
  std::string escaped;
  for (char c : option) {
    if (c == ',' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

inline std::string JoinMountOptions(const std::vector<std::string>& options) {
  std::string joined;
  for (const std::string& option : options) {
    if (!joined.empty()) joined.push_back(',');
    joined += EscapeMountOption(option);
  }
  return joined;
}

}  // namespace wtcachefs::fuzz
