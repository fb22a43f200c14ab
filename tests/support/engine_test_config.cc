#include "support/engine_test_config.h"

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

}  // namespace wtcachefs::testing
