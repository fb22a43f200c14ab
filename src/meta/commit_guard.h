// SPDX-License-Identifier: Apache-2.0
// CommitGuard: the number of the last metadata commit and the store's table files,
// kept in a small file beside the RocksDB directory, so that a store that lost
// commits (a log or manifest truncated, garbled or replaced) is caught at the
// next open instead of trusted. RocksDB alone cannot tell: it recovers a log cut
// at a record boundary, or a manifest cut after a record, as a shorter valid
// history, and a mapping whose deletion was lost points at a slot that now holds
// other data.
//
// The file is written after each durable commit and each flush or compaction,
// and synced at close; it never runs ahead of the store (a crash may only leave
// it behind). A store whose last commit is older than the record, or which lacks
// a table file the record names, has lost commits.
//
// Thread safety: none; MetaStore calls it under its commit lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wtcachefs/status.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {

class CommitGuard {
 public:
  // Opens (creating when missing) the guard file at `path`. A file that holds
  // something other than a commit number fails with EUCLEAN.
  static Result<CommitGuard> Open(const std::string& path);
  // Removes the guard file at `path` (with the store it guards).
  static void Remove(const std::string& path);

  // The commit number recorded; nullopt for a new (or older wtcachefs's) cache.
  std::optional<uint64_t> recorded() const { return recorded_; }
  // The store's table files (their numbers) when last recorded.
  const std::vector<uint64_t>& tables() const { return tables_; }
  // Records `commit` as made and durable in the store, and `tables` as its
  // table files. Best effort: a failed write only weakens the next check.
  void Record(uint64_t commit);
  void RecordTables(std::vector<uint64_t> tables);
  // Makes the recorded number durable (at close).
  void Sync();

 private:
  CommitGuard(UniqueFd fd, std::optional<uint64_t> recorded, std::vector<uint64_t> tables)
      : fd_(std::move(fd)), recorded_(recorded), tables_(std::move(tables)) {}
  void Write();

  UniqueFd fd_;
  std::optional<uint64_t> recorded_;
  std::vector<uint64_t> tables_;
  size_t written_size_ = SIZE_MAX;  // unknown until the first write: cut then
};

}  // namespace wtcachefs
