// SPDX-License-Identifier: Apache-2.0
// Parsing of `-o opt[,opt...]` mount options, as written by users, in fstab, and
// by mount.fuse3 (which adds rw/dev/suid and their opposites). Every wtcachefs
// option is accepted here as name=value (dashes or underscores); kernel and FUSE
// mount options are passed on; fstab-only options (noauto, nofail, _netdev,
// x-systemd.*, ...) are accepted and ignored.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wtcachefs/options.h"
#include "wtcachefs/status.h"

namespace wtcachefs {

// Splits "a,b\,c" at unescaped commas ("\," keeps a literal comma).
std::vector<std::string> SplitMountOptions(const std::string& list);

// Parses a size such as "4096", "64K", "1M", "8G" or "1T" (binary units).
Result<uint64_t> ParseSize(const std::string& name, const std::string& value);

// What a valid value of the option `name` (normalised: underscores) looks like,
// for messages: {"a size", "10G"}. Both empty for a name that takes no value.
struct ValueHint {
  std::string_view kind;
  std::string_view example;
};
ValueHint HintFor(std::string_view name);

// The error for an option given without a value or with an empty one, as
// written: "-o cache_size=" or "--cache-size ''" (`flag` true). Names the option
// and says what a valid value looks like.
Status MissingValue(const std::string& name, bool flag);

// Applies one -o list to `options`. An unknown option is an error naming it.
Status ApplyMountOptions(const std::string& list, Options& options);

}  // namespace wtcachefs
