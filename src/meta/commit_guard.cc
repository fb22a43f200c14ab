// SPDX-License-Identifier: Apache-2.0
#include "meta/commit_guard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "meta/byte_codec.h"

namespace wtcachefs {
namespace {

constexpr uint64_t kMagic = 0x7774636f6d6d6974;  // "wtcommit"
constexpr size_t kMaxRecord = 1 << 20;

}  // namespace

Result<CommitGuard> CommitGuard::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("cannot open the commit record '" + path + "'");
  std::string bytes(kMaxRecord, '\0');
  const ssize_t n = ::pread(fd.get(), bytes.data(), bytes.size(), 0);
  if (n < 0) return Status::FromErrno("cannot read the commit record '" + path + "'");
  if (n == 0) return CommitGuard(std::move(fd), std::nullopt, {});
  bytes.resize(static_cast<size_t>(n));
  // magic, commit number, table count, table numbers
  ByteReader reader(bytes);
  uint64_t magic = 0;
  uint64_t commit = 0;
  uint64_t count = 0;
  bool valid = reader.U64(magic) && magic == kMagic && reader.U64(commit) && reader.U64(count) &&
               count <= kMaxRecord / 8;
  std::vector<uint64_t> tables(valid ? count : 0);
  for (uint64_t& table : tables) valid = valid && reader.U64(table);
  if (!valid || !reader.AtEnd()) {
    return Status::Error(EUCLEAN, "the commit record '" + path + "' is damaged");
  }
  return CommitGuard(std::move(fd), commit, std::move(tables));
}

void CommitGuard::Remove(const std::string& path) { ::unlink(path.c_str()); }

void CommitGuard::Record(uint64_t commit) {
  recorded_ = commit;
  Write();
}

void CommitGuard::RecordTables(std::vector<uint64_t> tables) {
  tables_ = std::move(tables);
  if (recorded_) Write();
}

void CommitGuard::Write() {
  ByteWriter writer;
  writer.U64(kMagic);
  writer.U64(*recorded_);
  writer.U64(tables_.size());
  for (uint64_t table : tables_) writer.U64(table);
  const std::string bytes = writer.Take();
  if (::pwrite(fd_.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return;
  }
  // The length is part of the record: cut what a longer one left behind (only
  // when the table list shrank; a commit rewrites the same length).
  if (bytes.size() < written_size_) (void)::ftruncate(fd_.get(), static_cast<off_t>(bytes.size()));
  written_size_ = bytes.size();
}

void CommitGuard::Sync() { (void)::fdatasync(fd_.get()); }

}  // namespace wtcachefs
