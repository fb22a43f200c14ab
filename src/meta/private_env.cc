// SPDX-License-Identifier: Apache-2.0
#include "meta/private_env.h"

#include <rocksdb/file_system.h>
#include <sys/stat.h>

#include <filesystem>
#include <system_error>

namespace wtcachefs {
namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

// Restricts each file right after RocksDB created it. Its directory is already
// 0700, so no other user can open the file in between.
class PrivateFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit PrivateFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}

  const char* Name() const override { return "WtcachefsPrivateFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    return Restrict(name, kFileMode, target()->NewWritableFile(name, options, result, debug));
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* debug) override {
    return Restrict(name, kFileMode,
                    target()->ReopenWritableFile(name, options, result, debug));
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* debug) override {
    return Restrict(name, kFileMode,
                    target()->ReuseWritableFile(name, old_name, options, result, debug));
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    return Restrict(name, kFileMode, target()->NewRandomRWFile(name, options, result, debug));
  }
  rocksdb::IOStatus NewLogger(const std::string& name, const rocksdb::IOOptions& options,
                              std::shared_ptr<rocksdb::Logger>* result,
                              rocksdb::IODebugContext* debug) override {
    return Restrict(name, kFileMode, target()->NewLogger(name, options, result, debug));
  }
  rocksdb::IOStatus CreateDir(const std::string& name, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* debug) override {
    return Restrict(name, kDirMode, target()->CreateDir(name, options, debug));
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string& name,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* debug) override {
    return Restrict(name, kDirMode, target()->CreateDirIfMissing(name, options, debug));
  }

 private:
  static rocksdb::IOStatus Restrict(const std::string& name, mode_t mode,
                                    rocksdb::IOStatus created) {
    if (!created.ok()) return created;
    if (::chmod(name.c_str(), mode) != 0) {
      return rocksdb::IOStatus::IOError("cannot make '" + name + "' private",
                                        std::generic_category().message(errno));
    }
    return created;
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewPrivateEnv() {
  return rocksdb::NewCompositeEnv(
      std::make_shared<PrivateFileSystem>(rocksdb::FileSystem::Default()));
}

void MakePrivate(const std::string& dir) {
  std::error_code error;
  ::chmod(dir.c_str(), kDirMode);
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    const bool is_dir = it->is_directory(error);
    if (error) break;
    ::chmod(it->path().c_str(), is_dir ? kDirMode : kFileMode);
  }
}

}  // namespace wtcachefs
