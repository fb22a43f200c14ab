// SPDX-License-Identifier: Apache-2.0
#include "cli/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/mount_options.h"

namespace wtcachefs {
namespace {

int UsageError(const std::string& message) {
  std::cerr << "wtcachefs: " << message << " (run 'wtcachefs --help' for usage)\n";
  return kExitUsage;
}

std::string ValueWithCommaError(const std::string& name, const std::string& value) {
  const ValueHint hint = HintFor(name);
  std::string dashed = name;
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  return "option --" + dashed + " '" + value + "' is not one value: give " +
         std::string(hint.kind) + " (example: --" + dashed + " " + std::string(hint.example) + ")";
}

}  // namespace

std::optional<int> ParseCommandLine(int argc, const char* const* argv, Options& options) {
  CLI::App app{
      "wtcachefs: a writethrough cache filesystem. VIEW mirrors ORIGIN (a directory, or "
      "one image file or block device); file data is cached on CACHE; every write "
      "reaches ORIGIN before it is acknowledged.",
      "wtcachefs"};
  app.footer("Forms:\n  wtcachefs ORIGIN CACHE VIEW [options]\n"
             "  wtcachefs ORIGIN VIEW -o cache=CACHE[,mount options]\n"
             "ORIGIN is a directory, or one image file or block device.\n"
             "Commands (each with --help):\n"
             "  wtcachefs status VIEW [--json|--line|--prometheus] [--watch]\n"
             "  wtcachefs tune VIEW NAME=VALUE...\n"
             "  wtcachefs invalidate VIEW [PATH...]\n"
             "  wtcachefs warm PATH...\n"
             "  wtcachefs check CACHE [--repair]\n"
             "Exit codes: 0 ok, 1 usage, 2 bad path, 3 mount failed, 4 runtime error.\n"
             "See wtcachefs(8).");
  app.set_version_flag("--version", std::string("wtcachefs ") + WTCACHEFS_VERSION);

  std::vector<std::string> paths;
  std::vector<std::string> option_lists;
  std::string cache_flag;
  // The count is checked below, so that a mistake names the missing or extra path.
  app.add_option("paths", paths, "ORIGIN CACHE VIEW, or ORIGIN VIEW with -o cache=CACHE");
  app.add_option("-o", option_lists,
                 "mount options, comma separated: cache=DIR, block_size=SIZE, "
                 "cache_size=SIZE, reset_cache, attr_timeout=S, revalidate=S, sweep_interval=S, "
                 "entry_timeout=S, max_threads=N, no_default_permissions, allow_other, "
                 "ro, and the other FUSE and fstab options")
      ->allow_extra_args(false);
  CLI::Option* cache_option =
      app.add_option("--cache", cache_flag, "the cache directory (same as -o cache=DIR)");
  app.add_flag("-f,--foreground", options.foreground, "stay in the foreground");
  app.add_flag("-d,--debug", options.debug, "print every FUSE request (implies -f)");
  CLI::Option* attr_timeout_option = app.add_option(
      "--attr-timeout", options.attr_timeout, "seconds the kernel caches attributes (default 1)");
  CLI::Option* entry_timeout_option = app.add_option("--entry-timeout", options.entry_timeout,
                                                     "seconds the kernel caches names (default 1)");
  std::string revalidate_flag;
  CLI::Option* revalidate_option =
      app.add_option("--revalidate", revalidate_flag,
                     "seconds after which open files compare origin's attributes again "
                     "(default: the attribute timeout; 0: only at open)");
  std::string sweep_interval_flag;
  CLI::Option* sweep_interval_option =
      app.add_option("--sweep-interval", sweep_interval_flag,
                     "seconds between steps of the sweep that finds files deleted behind the "
                     "mount (default 1; 0: off)");
  std::string mrc_flag;
  CLI::Option* mrc_option =
      app.add_option("--mrc", mrc_flag,
                     "on or off: the live miss-ratio curve of 'wtcachefs status --mrc' (default "
                     "on; up to 4 MiB of RAM)");
  std::string transport_flag;
  CLI::Option* transport_option =
      app.add_option("--transport", transport_flag,
                     "auto, io_uring or dev_fuse: how FUSE requests travel (default auto: "
                     "io_uring where the kernel offers it)");
  CLI::Option* max_threads_option =
      app.add_option("--max-threads", options.max_threads, "most FUSE worker threads (default 16)");
  std::string block_size_flag, cache_size_flag;
  CLI::Option* block_size_option =
      app.add_option("--block-size", block_size_flag,
                     "cache block size of a new cache: 4K to 4M, a power of two (default 64K)");
  CLI::Option* cache_size_option =
      app.add_option("--cache-size", cache_size_flag,
                     "cache size, reserved at mount, e.g. 10G (default: a tenth of the "
                     "cache filesystem, taken only while it keeps 10% free)");
  std::string policy_flag, promote_after_flag, sequential_cutoff_flag, write_policy_flag;
  std::string read_ahead_flag;
  CLI::Option* read_ahead_option =
      app.add_option("--read-ahead", read_ahead_flag,
                     "the kernel's read-ahead for the view (default 4M; 0: the kernel's 128K)");
  std::string log_level_flag;
  CLI::Option* log_level_option =
      app.add_option("--log-level", log_level_flag,
                     "error, warning, info or debug (default warning); to stderr with -f, to "
                     "syslog otherwise");
  CLI::Option* policy_option = app.add_option(
      "--policy", policy_flag, "which blocks leave a full cache: lru, 2q or arc (default arc)");
  CLI::Option* promote_after_option = app.add_option(
      "--promote-after", promote_after_flag, "promote a block on its Nth read miss (default 1)");
  CLI::Option* sequential_cutoff_option =
      app.add_option("--sequential-cutoff", sequential_cutoff_flag,
                     "do not cache a sequential stream past this size; 0: off (default 4M)");
  CLI::Option* write_policy_option =
      app.add_option("--write-policy", write_policy_flag,
                     "allocate: write misses are cached; around: they are not (default "
                     "allocate)");
  app.add_flag("--serial-writethrough", options.serial_writethrough,
               "diagnostic: write to origin, then to the cache, instead of both at once "
               "(for benchmarks; slower)");
  app.add_flag("--reset-cache", options.reset_cache,
               "discard the cache in CACHE and start an empty one (no data is lost)");
  bool no_default_permissions = false;
  app.add_flag("--no-default-permissions", no_default_permissions,
               "do not let the kernel check permissions against origin's modes");

  // Each valued flag is its -o option, and its value is checked by the same
  // parser. A flag given with an empty value (--cache-size '') or none at all
  // is a mistake, not the default.
  const std::pair<const char*, CLI::Option*> valued_flags[] = {
      {"cache", cache_option},
      {"attr_timeout", attr_timeout_option},
      {"entry_timeout", entry_timeout_option},
      {"revalidate", revalidate_option},
      {"sweep_interval", sweep_interval_option},
      {"mrc", mrc_option},
      {"max_threads", max_threads_option},
      {"transport", transport_option},
      {"block_size", block_size_option},
      {"cache_size", cache_size_option},
      {"read_ahead", read_ahead_option},
      {"log_level", log_level_option},
      {"policy", policy_option},
      {"promote_after", promote_after_option},
      {"sequential_cutoff", sequential_cutoff_option},
      {"write_policy", write_policy_option}};
  for (const auto& [name, option] : valued_flags) option->expected(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }

  if (paths.empty()) {
    return UsageError("ORIGIN, CACHE and VIEW are missing: give wtcachefs ORIGIN CACHE VIEW, "
                      "or wtcachefs ORIGIN VIEW -o cache=CACHE");
  }
  if (paths.size() == 1) {
    return UsageError("VIEW is missing after ORIGIN '" + paths[0] +
                      "': give wtcachefs ORIGIN CACHE VIEW, or wtcachefs ORIGIN VIEW -o "
                      "cache=CACHE");
  }
  if (paths.size() > 3) {
    return UsageError("unexpected argument '" + paths[3] + "' after VIEW '" + paths[2] +
                      "': give at most three paths (ORIGIN CACHE VIEW); quote a path that "
                      "contains spaces");
  }
  if (no_default_permissions) options.default_permissions = false;
  for (const auto& [name, option] : valued_flags) {
    if (option->count() == 0) continue;
    const std::string value = option->results().empty() ? "" : option->results().front();
    if (value.empty()) return UsageError(MissingValue(name, true).message());
    if (option == cache_option) continue;  // a path, applied below
    // A comma would smuggle in another option (--policy lru,cache=/x).
    if (value.find(',') != std::string::npos) {
      return UsageError(ValueWithCommaError(name, value));
    }
    if (Status s = ApplyMountOptions(std::string(name) + "=" + value, options); !s.ok()) {
      return UsageError(s.message());
    }
  }
  for (const std::string& list : option_lists) {
    if (list.empty()) {
      return UsageError(
          "option -o needs a value: give mount options, comma separated "
          "(example: -o cache=/var/cache/wtcachefs,ro)");
    }
    if (Status s = ApplyMountOptions(list, options); !s.ok()) return UsageError(s.message());
  }
  if (!cache_flag.empty()) {
    if (!options.cache.empty()) return UsageError("--cache and -o cache= both given: give one");
    options.cache = cache_flag;
  }
  options.origin = paths.front();
  options.view = paths.back();
  if (paths.size() == 3) {
    if (!options.cache.empty()) {
      return UsageError("CACHE given twice (as an argument and as an option): give it once");
    }
    options.cache = paths[1];
  }
  if (options.debug) options.foreground = true;
  // The kernel asks for attributes before it reads from its page cache once
  // they are older than the attribute timeout: no longer than revalidation.
  if (options.revalidate > 0 && options.revalidate < options.attr_timeout) {
    options.attr_timeout = options.revalidate;
  }
  return std::nullopt;
}

}  // namespace wtcachefs
