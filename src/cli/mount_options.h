// Parsing of `-o opt[,opt...]` mount options, as written by users, in fstab, and
// by mount.fuse3 (which adds rw/dev/suid and their opposites). Every wtcachefs
// option is accepted here as name=value (dashes or underscores); kernel and FUSE
// mount options are passed on; fstab-only options (noauto, nofail, _netdev,
// x-systemd.*, ...) are accepted and ignored.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

// Splits "a,b\,c" at unescaped commas ("\," keeps a literal comma).
std::vector<std::string> SplitMountOptions(const std::string& list);

// Parses a size such as "4096", "64K", "1M", "8G" or "1T" (binary units).
Result<uint64_t> ParseSize(const std::string& name, const std::string& value);

// Applies one -o list to `options`. An unknown option is an error naming it.
Status ApplyMountOptions(const std::string& list, Options& options);

}  // namespace wtcachefs
