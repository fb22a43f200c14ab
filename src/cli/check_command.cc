// SPDX-License-Identifier: Apache-2.0
#include "cli/check_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cache_dir/cache_check.h"
#include "cli/exit_codes.h"

namespace wtcachefs {

int RunCheckCommand(int argc, char** argv) {
  CLI::App app{"Verifies the metadata of an unmounted wtcachefs cache: every mapping points "
               "into the slot file and has checksums, no slot is mapped twice, the superblock "
               "is consistent; with --verify-data, every cached sector matches its checksum.",
               "wtcachefs check"};
  std::string cache;
  bool repair = false;
  bool verify_data = false;
  app.add_option("CACHE", cache, "the cache directory (not mounted)")->required();
  app.add_flag("--repair", repair,
               "delete bad mappings, or reset a cache whose metadata cannot be read (no data "
               "is lost: the origin holds it all)");
  app.add_flag("--verify-data", verify_data,
               "also read every cached block and check each valid sector against its "
               "checksum; with --repair, blocks that fail are deleted");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wtcachefs check: " << e.what() << " (run 'wtcachefs check --help' for usage)\n";
    return kExitUsage;
  }
  CacheLockRequest lock;
  lock.on_wait = [](const std::string& message) {
    std::cerr << "wtcachefs check: " << message << "\n" << std::flush;
  };
  auto checked = CheckCache(cache, repair, verify_data, lock);
  if (!checked.ok()) {
    std::cerr << "wtcachefs check: " << checked.status().message() << "\n";
    return checked.status().error() == EBUSY || checked.status().error() == ENOENT ||
                   checked.status().error() == EACCES
               ? kExitBadPath
               : kExitRuntime;
  }
  const CacheCheckReport& report = checked.value();
  if (report.block_size != 0) {
    std::cout << "cache '" << cache << "': origin '" << report.origin_path << "', "
              << report.slot_count << " blocks of " << report.block_size / 1024 << " KiB, "
              << (report.clean_shutdown ? "shut down cleanly" : "not shut down cleanly") << "\n"
              << report.files << " files, " << report.mappings << " mapped blocks, "
              << report.intents << " intent log entries\n";
    if (verify_data) {
      std::cout << report.verified_blocks << " blocks verified against their checksums, "
                << report.corrupt_blocks.size() << " failed\n";
    }
  }
  // A failing device may fail many blocks: the first hundred are named.
  constexpr size_t kNamed = 100;
  for (size_t i = 0; i < report.corrupt_blocks.size() && i < kNamed; ++i) {
    std::cout << "corrupt: " << report.corrupt_blocks[i] << "\n";
  }
  if (report.corrupt_blocks.size() > kNamed) {
    std::cout << "corrupt: ... and " << report.corrupt_blocks.size() - kNamed << " more\n";
  }
  for (const std::string& problem : report.problems) std::cout << "problem: " << problem << "\n";
  for (const std::string& repair_done : report.repairs) std::cout << "repaired: " << repair_done << "\n";
  if (report.problems.empty()) {
    std::cout << "consistent\n";
    return kExitOk;
  }
  if (repair) return kExitOk;
  std::cout << "run 'wtcachefs check --repair " << (verify_data ? "--verify-data " : "") << cache
            << "' to repair\n";
  return kExitRuntime;
}

}  // namespace wtcachefs
