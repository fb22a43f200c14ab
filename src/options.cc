// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/options.h"

#include <cerrno>
#include <cmath>

namespace wtcachefs {

Status Options::Validate() const {
  if (origin.empty() || view.empty()) {
    return Status::Error(EINVAL, "ORIGIN and VIEW are required: wtcachefs ORIGIN CACHE VIEW");
  }
  if (cache.empty()) {
    return Status::Error(EINVAL,
                         "no CACHE given: pass it as the second argument or as -o cache=DIR");
  }
  if (!std::isfinite(attr_timeout) || attr_timeout < 0) {
    return Status::Error(EINVAL, "option attr_timeout must be a number of seconds >= 0");
  }
  if (std::isnan(revalidate) || revalidate > 86400) {
    return Status::Error(EINVAL, "option revalidate must be a number of seconds from 0 to 86400 "
                                 "(example: revalidate=1)");
  }
  if (!std::isfinite(sweep_interval) || sweep_interval < 0 || sweep_interval > 86400) {
    return Status::Error(EINVAL,
                         "option sweep_interval must be a number of seconds from 0 to "
                         "86400 (example: sweep_interval=1; 0 turns the sweep off)");
  }
  if (!std::isfinite(entry_timeout) || entry_timeout < 0) {
    return Status::Error(EINVAL, "option entry_timeout must be a number of seconds >= 0");
  }
  if (block_size != 0 && (block_size < 4096 || block_size > (4u << 20) ||
                          (block_size & (block_size - 1)) != 0)) {
    return Status::Error(EINVAL, "option block_size=" + std::to_string(block_size) +
                                     " must be a power of two from 4K to 4M (example: "
                                     "block_size=64K)");
  }
  if (max_threads < 1 || max_threads > 1024) {
    return Status::Error(EINVAL, "option max_threads must be between 1 and 1024");
  }
  return Status::Ok();
}

}  // namespace wtcachefs
