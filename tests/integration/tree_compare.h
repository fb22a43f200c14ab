// Compares two directory trees the way a user of VIEW would notice a difference:
// entry names, file types, permission bits, sizes, link counts, file contents,
// symlink targets and user xattrs. Times and inode numbers are not compared.
#pragma once

#include <string>

namespace wtcachefs::testing {

// Compares one entry (recursing into directories when `recursive`). Returns ""
// when equal, else a description of the first difference.
std::string CompareEntries(const std::string& left, const std::string& right, bool recursive);

}  // namespace wtcachefs::testing
