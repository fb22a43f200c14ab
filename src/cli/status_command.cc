// SPDX-License-Identifier: Apache-2.0
#include "cli/status_command.h"

#include <sys/xattr.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/prometheus_format.h"

namespace wtcachefs {
namespace {

// Reads the view's status attribute `name`; on failure reports and returns an
// exit code.
std::variant<std::string, int> ReadStatus(const std::string& view, const std::string& name) {
  std::vector<char> value(1 << 16);
  ssize_t n = -1;
  for (int attempt = 0; attempt < 4; ++attempt) {
    n = ::getxattr(view.c_str(), name.c_str(), value.data(), value.size());
    if (n >= 0 || errno != ERANGE) break;
    value.resize(value.size() * 4);
  }
  if (n >= 0) return std::string(value.data(), static_cast<size_t>(n));
  const int error = errno;
  if (error == ENODATA || error == ENOTSUP) {
    std::cerr << "wtcachefs status: '" << view
              << "' is not the mount point of a wtcachefs view: give the VIEW directory "
                 "of a mounted wtcachefs\n";
    return kExitBadPath;
  }
  std::cerr << "wtcachefs status: cannot read the status of '" << view
            << "': " << std::strerror(error) << "\n";
  return error == ENOENT || error == ENOTDIR || error == EACCES ? kExitBadPath : kExitRuntime;
}

std::string Now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  return text;
}

}  // namespace

int RunStatusCommand(int argc, char** argv) {
  CLI::App app{"Prints the cache statistics of a mounted wtcachefs view.", "wtcachefs status"};
  std::string view;
  bool json = false;
  bool line = false;
  bool prometheus = false;
  bool watch = false;
  bool mrc = false;
  double interval = 2.0;
  unsigned count = 0;
  app.add_option("VIEW", view, "the mount point of a wtcachefs view")->required();
  auto* json_flag = app.add_flag("--json", json, "JSON, for programs");
  auto* line_flag = app.add_flag("--line", line, "one line of name=value fields, like dmsetup status")
                        ->excludes(json_flag);
  app.add_flag("--prometheus", prometheus,
               "the Prometheus text exposition format, metrics labelled with the view")
      ->excludes(json_flag)
      ->excludes(line_flag);
  app.add_flag("--mrc", mrc,
               "the miss-ratio curve instead: the hit ratio the reads since the mount (or "
               "'wtcachefs tune VIEW mrc=reset') would have had at 1/4 to 8 times the cache's "
               "size; with --json, as JSON")
      ->excludes(line_flag);
  app.add_flag("--watch", watch,
               "print again every --interval seconds (in place on a terminal) until "
               "interrupted");
  app.add_option("--interval", interval, "seconds between reports with --watch (default 2)")
      ->check(CLI::Range(0.05, 86400.0));
  app.add_option("--count", count, "with --watch: stop after this many reports");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wtcachefs status: " << e.what()
              << " (run 'wtcachefs status --help' for usage)\n";
    return kExitUsage;
  }

  if (mrc && prometheus) {
    std::cerr << "wtcachefs status: --prometheus always holds the curve "
                 "(wtcachefs_mrc_hit_ratio): give it without --mrc\n";
    return kExitUsage;
  }
  const std::string name = mrc                    ? (json ? "wtcachefs.mrc.json" : "wtcachefs.mrc")
                           : json                 ? "wtcachefs.status.json"
                           : (line || prometheus) ? "wtcachefs.status.line"
                                                  : "wtcachefs.status";
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  for (unsigned reports = 1;; ++reports) {
    auto status = ReadStatus(view, name);
    if (const int* exit_code = std::get_if<int>(&status)) return *exit_code;
    std::string text = std::get<std::string>(status);
    if (prometheus) {
      char resolved[PATH_MAX];
      const std::string label = ::realpath(view.c_str(), resolved) ? resolved : view;
      text = RenderPrometheus(ParseStatusLine(text), label);
    }
    if (watch) {
      // In place on a terminal: home, clear; elsewhere one report after another.
      std::cout << (terminal ? "\033[H\033[2J" : "") << "wtcachefs status " << view << " at "
                << Now() << "\n";
    }
    std::cout << text << std::flush;
    if (!watch || (count != 0 && reports >= count)) return kExitOk;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
}

}  // namespace wtcachefs
