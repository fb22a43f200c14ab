// SPDX-License-Identifier: Apache-2.0
#include "cli/open_file_limit.h"

#include <sys/resource.h>

#include <fstream>

namespace wtcachefs {

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  rlim_t most = limit.rlim_max;
  std::ifstream nr_open("/proc/sys/fs/nr_open");
  if (rlim_t system_most = 0; nr_open >> system_most && system_most > most) {
    const rlimit raised{system_most, system_most};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return system_most;
  }
  if (limit.rlim_cur < most) {
    const rlimit raised{most, most};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return most;
  }
  return limit.rlim_cur;
}

}  // namespace wtcachefs
