// SPDX-License-Identifier: Apache-2.0
#include "support/engine_test_config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace wtcachefs::testing {

CacheConfig EngineTestConfig(const TempDir& dir, uint32_t block_size, uint64_t blocks) {
  CacheConfig config;
  config.cache_dir = dir.Sub("cache");
  config.origin_path = dir.Sub("origin");
  struct stat st {};
  ::stat(config.origin_path.c_str(), &st);
  config.origin_dev = st.st_dev;
  config.origin_ino = st.st_ino;
  config.block_size = block_size;
  config.cache_bytes = blocks * block_size;
  return config;
}

std::unique_ptr<OpenFile> OpenThrough(DataEngine& engine, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  EXPECT_TRUE(fd.valid()) << path;
  auto file = engine.Open(std::move(fd));
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? std::move(file).value() : nullptr;
}

std::string ReadThrough(OpenFile& file, off_t offset, size_t length) {
  std::string out(length, '\0');
  auto n = file.Read(offset, std::span<char>(out.data(), out.size()));
  EXPECT_TRUE(n.ok()) << n.status().message();
  out.resize(n.ok() ? n.value() : 0);
  return out;
}

}  // namespace wtcachefs::testing
