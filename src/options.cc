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
  if (!std::isfinite(entry_timeout) || entry_timeout < 0) {
    return Status::Error(EINVAL, "option entry_timeout must be a number of seconds >= 0");
  }
  if (max_threads < 1 || max_threads > 1024) {
    return Status::Error(EINVAL, "option max_threads must be between 1 and 1024");
  }
  return Status::Ok();
}

}  // namespace wtcachefs
