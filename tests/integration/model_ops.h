// SPDX-License-Identifier: Apache-2.0
// Model operations: one filesystem operation as data (Operation), the code that
// performs it on one side of the model test (VIEW or the reference directory),
// and what the caller saw (Outcome). Open files live in numbered slots of a
// ModelSide (view slot i <-> reference slot i) across operations.
//
// Thread safety: none; one thread drives its sides.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wtcachefs::testing {

inline constexpr int kOpenFileSlots = 6;

// One side of the model: a root directory and the files held open below it.
class ModelSide {
 public:
  explicit ModelSide(std::string root) : root_(std::move(root)) { fds_.fill(-1); }
  ~ModelSide() { CloseAll(); }
  ModelSide(const ModelSide&) = delete;
  ModelSide& operator=(const ModelSide&) = delete;

  const std::string& root() const { return root_; }
  std::string Path(const std::string& relative) const {
    return relative.empty() ? root_ : root_ + "/" + relative;
  }
  int& fd(int slot) { return fds_[static_cast<size_t>(slot)]; }
  void CloseAll();

 private:
  std::string root_;
  std::array<int, kOpenFileSlots> fds_;
};

enum class OpKind {
  kOpen,
  kClose,
  kPwrite,
  kWrite,
  kPread,
  kRead,
  kLseek,
  kFtruncate,
  kTruncate,
  kFsync,
  kFallocate,
  kMkdir,
  kRmdir,
  kUnlink,
  kRename,
  kLink,
  kSymlink,
  kReadlink,
  kChmod,
  kFchmod,
  kUtimens,
  kFutimens,
  kSetxattr,
  kGetxattr,
  kRemovexattr,
  kListxattr,
  kReaddir,
  kStat,
};

// How an xattr or stat operation names its object.
enum class Via { kPathFollow, kPathNoFollow, kFd };

struct Operation {
  OpKind kind = OpKind::kStat;
  std::string path;   // relative to the side's root
  std::string path2;  // rename/link destination, or symlink target text
  int slot = 0;       // open-file slot for fd operations
  int flags = 0;      // open/rename/xattr/fallocate/utimensat flags, lseek whence, datasync
  mode_t mode = 0;
  off_t offset = 0;
  size_t length = 0;     // bytes to write/read, xattr value or buffer size
  uint32_t pattern = 0;  // seeds the bytes written
  Via via = Via::kPathFollow;
  std::string xattr_name;
  struct timespec times[2] = {};

  // A one-line description that is enough to replay the operation by hand.
  std::string Describe() const;
  // True when the operation acts on an open-file slot.
  bool UsesSlot() const;
};

// What the caller of the syscall saw: the return value (normalised where it is
// legitimately different, e.g. fd numbers), errno, and any bytes returned.
struct Outcome {
  long result = 0;
  int error = 0;
  std::string data;
  bool operator==(const Outcome&) const = default;
  std::string Describe() const;
};

// Performs `op` on `side` and returns what the caller saw.
Outcome Apply(const Operation& op, ModelSide& side);

// The relative paths whose entries `op` may have changed or read: its path
// arguments and their parent directories ("" is the root).
std::vector<std::string> TouchedPaths(const Operation& op);

// The deterministic bytes written by an operation with `pattern`.
std::string PatternBytes(uint32_t pattern, size_t length);

}  // namespace wtcachefs::testing
