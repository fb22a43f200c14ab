// SPDX-License-Identifier: Apache-2.0
#include "integration/model_generator.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <array>

namespace wtcachefs::testing {
namespace {

// Paths are up to two directory names then a leaf. Directory operations mostly
// use directory names and the others mostly file names, so most operations
// reach an existing object, yet the same name is sometimes a file in one step
// and a directory in the next.
constexpr std::array<const char*, 2> kDirNames = {"a", "b"};
constexpr std::array<const char*, 3> kFileNames = {"c", "f", "g"};
// Symlink targets never start with '/' or contain "..", so resolving them never
// leaves the side's root.
constexpr std::array<const char*, 8> kTargets = {"a",   "b",       "f", "a/c",
                                                 "b/g", "missing", ".", "a/b/f"};
constexpr std::array<mode_t, 6> kCreateModes = {0644, 0600, 0755, 0444, 0000, 0640};
constexpr std::array<mode_t, 6> kDirModes = {0755, 0700, 0777, 0555, 01777, 02755};
constexpr std::array<mode_t, 9> kChmodModes = {0644,  0600,  0000, 0755, 04755,
                                               02755, 01777, 0444, 0222};

struct Weighted {
  OpKind kind;
  int weight;
};
constexpr std::array<Weighted, 28> kMix = {{
    {OpKind::kOpen, 12},       {OpKind::kClose, 2},     {OpKind::kPwrite, 10},
    {OpKind::kWrite, 5},       {OpKind::kPread, 6},     {OpKind::kRead, 3},
    {OpKind::kLseek, 2},       {OpKind::kFtruncate, 4}, {OpKind::kTruncate, 3},
    {OpKind::kFsync, 2},       {OpKind::kFallocate, 4}, {OpKind::kMkdir, 4},
    {OpKind::kRmdir, 3},       {OpKind::kUnlink, 4},    {OpKind::kRename, 7},
    {OpKind::kLink, 3},        {OpKind::kSymlink, 3},   {OpKind::kReadlink, 2},
    {OpKind::kChmod, 3},       {OpKind::kFchmod, 1},    {OpKind::kUtimens, 3},
    {OpKind::kFutimens, 1},    {OpKind::kSetxattr, 3},  {OpKind::kGetxattr, 2},
    {OpKind::kRemovexattr, 2}, {OpKind::kListxattr, 1}, {OpKind::kReaddir, 2},
    {OpKind::kStat, 2},
}};

}  // namespace

std::string OperationGenerator::RandomPath(bool directory) {
  const uint64_t roll = Below(100);
  const int parents = roll < 35 ? 0 : (roll < 80 ? 1 : 2);
  std::string path;
  for (int i = 0; i < parents; ++i) path += std::string(kDirNames[Below(kDirNames.size())]) + "/";
  const bool dir_name = Chance(directory ? 85 : 20);
  return path +
         (dir_name ? kDirNames[Below(kDirNames.size())] : kFileNames[Below(kFileNames.size())]);
}

// Small offsets, offsets around the 64 KiB cache block boundaries, and far ones.
off_t OperationGenerator::RandomOffset() {
  switch (Below(4)) {
    case 0:
      return static_cast<off_t>(Below(4096));
    case 1:
      return static_cast<off_t>(Below(32 * 1024));
    case 2:
      return static_cast<off_t>((1 + Below(3)) * 65536 + Below(1024)) - 512;
    default:
      return static_cast<off_t>(Below(300 * 1024));
  }
}

size_t OperationGenerator::RandomLength() {
  switch (Below(8)) {
    case 0:
      return Below(16);
    case 1:
      return 65536 + Below(100 * 1024);
    default:
      return 1 + Below(12 * 1024);
  }
}

struct timespec OperationGenerator::RandomTime(bool allow_special) {
  if (allow_special && Chance(10)) return {0, Chance(50) ? UTIME_NOW : UTIME_OMIT};
  return {static_cast<time_t>(Below(2'000'000'000)), static_cast<long>(Below(1'000'000'000))};
}

Operation OperationGenerator::Next() {
  int total = 0;
  for (const Weighted& w : kMix) total += w.weight;
  int pick = static_cast<int>(Below(static_cast<uint64_t>(total)));
  Operation op;
  for (const Weighted& w : kMix) {
    if (pick < w.weight) {
      op.kind = w.kind;
      break;
    }
    pick -= w.weight;
  }
  // Every field is drawn every time, so the sequence never depends on the kind.
  const bool directory_op = op.kind == OpKind::kMkdir || op.kind == OpKind::kRmdir ||
                            op.kind == OpKind::kReaddir ||
                            (op.kind == OpKind::kRename && Chance(30));
  op.path = RandomPath(directory_op);
  op.path2 = RandomPath(directory_op);
  op.slot = static_cast<int>(Below(kOpenFileSlots));
  op.offset = RandomOffset();
  op.length = RandomLength();
  op.pattern = static_cast<uint32_t>(rng_());
  op.via = static_cast<Via>(Below(3));
  op.xattr_name = "user.k" + std::to_string(Below(3));
  op.times[0] = RandomTime(true);
  op.times[1] = RandomTime(true);
  const uint64_t variant = rng_();
  switch (op.kind) {
    case OpKind::kOpen: {
      static constexpr std::array<int, 4> kAccess = {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR};
      op.flags = kAccess[variant % 4];
      const uint64_t bits = variant / 4;
      if (bits % 100 < 60) op.flags |= O_CREAT;
      if ((op.flags & O_CREAT) && (bits / 100) % 100 < 20) op.flags |= O_EXCL;
      if ((bits / 10'000) % 100 < 20) op.flags |= O_TRUNC;
      if ((bits / 1'000'000) % 100 < 25) op.flags |= O_APPEND;
      if ((bits / 100'000'000) % 100 < 4) op.flags |= O_DIRECTORY;
      if ((bits / 10'000'000'000) % 100 < 4) op.flags |= O_NOFOLLOW;
      op.mode = kCreateModes[(bits / 1'000'000'000'000) % kCreateModes.size()];
      break;
    }
    case OpKind::kLseek:
      op.flags = static_cast<int>(variant % 3);  // SEEK_SET, SEEK_CUR, SEEK_END
      if (op.flags != SEEK_SET) op.offset -= static_cast<off_t>(Below(4096));
      break;
    case OpKind::kFsync:
      op.flags = static_cast<int>(variant % 2);
      break;
    case OpKind::kFallocate: {
      static constexpr std::array<int, 5> kModes = {
          0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
          FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE};
      op.flags = kModes[variant % kModes.size()];
      break;
    }
    case OpKind::kMkdir:
      op.mode = kDirModes[variant % kDirModes.size()];
      break;
    case OpKind::kChmod:
    case OpKind::kFchmod:
      op.mode = kChmodModes[variant % kChmodModes.size()];
      break;
    case OpKind::kRename: {
      static constexpr std::array<int, 4> kFlags = {0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE};
      op.flags = kFlags[variant % kFlags.size()];
      break;
    }
    case OpKind::kSymlink:
      op.path2 = kTargets[variant % kTargets.size()];
      break;
    case OpKind::kUtimens:
      op.flags = variant % 2 ? AT_SYMLINK_NOFOLLOW : 0;
      break;
    case OpKind::kSetxattr: {
      static constexpr std::array<int, 4> kFlags = {0, 0, XATTR_CREATE, XATTR_REPLACE};
      op.flags = kFlags[variant % kFlags.size()];
      op.length = variant / 4 % 8 == 0 ? 3000 : variant / 4 % 40;
      break;
    }
    case OpKind::kGetxattr: {
      static constexpr std::array<size_t, 4> kSizes = {0, 4, 256, 4096};
      op.length = kSizes[variant % kSizes.size()];
      break;
    }
    case OpKind::kStat:
      // Stat via a slot is covered after every step; here: stat and lstat.
      op.via = variant % 2 ? Via::kPathFollow : Via::kPathNoFollow;
      break;
    default:
      break;
  }
  return op;
}

}  // namespace wtcachefs::testing
