// SPDX-License-Identifier: Apache-2.0
#include "cli/control_commands.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/tunables.h"

namespace wtcachefs {
namespace {

// Parses the subcommand's arguments; returns an exit code when it should stop.
std::optional<int> Parse(CLI::App& app, int argc, char** argv, const std::string& command) {
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wtcachefs " << command << ": " << e.what() << " (run 'wtcachefs " << command
              << " --help' for usage)\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// Writes control attribute `name` on `path`; reports a failure as one line.
int SendCommand(const std::string& command, const std::string& path, const std::string& name,
                const std::string& value) {
  if (::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0) {
    return kExitOk;
  }
  const int error = errno;
  std::cerr << "wtcachefs " << command << ": ";
  switch (error) {
    case ENOTSUP:
      std::cerr << "'" << path << "' is not in a mounted wtcachefs view: give a path below "
                << "the VIEW directory of a mounted wtcachefs\n";
      return kExitBadPath;
    case EISDIR:
      std::cerr << "'" << path << "' is a directory: give files, or the VIEW directory "
                << "itself for the whole cache\n";
      return kExitBadPath;
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case EPERM:
      std::cerr << "cannot reach '" << path << "': " << std::strerror(error) << "\n";
      return kExitBadPath;
    case EROFS:
      std::cerr << "the view of '" << path << "' serves the origin without its cache (see "
                << "'wtcachefs status VIEW' for why): fix the cache, then remount\n";
      return kExitRuntime;
    default:
      std::cerr << "'" << path << "' failed: " << std::strerror(error) << "\n";
      return kExitRuntime;
  }
}

// 0 when `view` is the mount point of a wtcachefs view (it answers status);
// otherwise reports it and returns the exit code.
int RequireView(const std::string& command, const std::string& view) {
  if (::getxattr(view.c_str(), "wtcachefs.status.line", nullptr, 0) >= 0) return kExitOk;
  std::cerr << "wtcachefs " << command << ": '" << view
            << "' is not the mount point of a wtcachefs view: give the VIEW directory of a "
               "mounted wtcachefs\n";
  return kExitBadPath;
}

std::string Bytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t{1} << 30)) {
    std::snprintf(text, sizeof(text), "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  } else {
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  return text;
}

// One line redrawn in place: "warming [#####.....]  52%  1.0 GiB of 2.0 GiB".
void DrawProgress(uint64_t done, uint64_t total) {
  constexpr int kWidth = 30;
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / total;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\rwarming [%s] %3d%%  %s of %s ", bar.c_str(),
               static_cast<int>(fraction * 100), Bytes(done).c_str(), Bytes(total).c_str());
  std::fflush(stderr);
}

}  // namespace

int RunInvalidateCommand(int argc, char** argv) {
  CLI::App app{"Drops cached blocks of a mounted wtcachefs view (the origin keeps all data): "
               "of the given files, or of the whole view.",
               "wtcachefs invalidate"};
  std::string view;
  std::vector<std::string> files;
  app.add_option("VIEW", view, "the mount point of a wtcachefs view")->required();
  app.add_option("PATH", files, "files in VIEW (default: everything)");
  if (auto exit_code = Parse(app, argc, argv, "invalidate")) return *exit_code;
  if (const int code = RequireView("invalidate", view)) return code;
  if (files.empty()) return SendCommand("invalidate", view, "wtcachefs.invalidate", "");
  int worst = kExitOk;
  for (const std::string& file : files) {
    const int code = SendCommand("invalidate", file, "wtcachefs.invalidate", "");
    if (code != kExitOk) worst = code;
  }
  return worst;
}

int RunTuneCommand(int argc, char** argv) {
  CLI::App app{"Changes settings of a mounted wtcachefs view without a remount: "
               "sequential_cutoff, promote_after, write_policy and log_level.",
               "wtcachefs tune"};
  std::string view;
  std::vector<std::string> assignments;
  app.add_option("VIEW", view, "the mount point of a wtcachefs view")->required();
  app.add_option("NAME=VALUE", assignments, "settings, as the -o options")->required();
  if (auto exit_code = Parse(app, argc, argv, "tune")) return *exit_code;
  for (const std::string& assignment : assignments) {
    if (auto parsed = ParseTunable(assignment); !parsed.ok()) {
      std::cerr << "wtcachefs tune: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
  }
  if (const int code = RequireView("tune", view)) return code;
  for (const std::string& assignment : assignments) {
    if (const int code = SendCommand("tune", view, "wtcachefs.tune", assignment)) return code;
  }
  return kExitOk;
}

int RunWarmCommand(int argc, char** argv) {
  CLI::App app{"Reads files of a mounted wtcachefs view into its cache, past the sequential "
               "cutoff and the promotion filter; a directory warms every file below it.",
               "wtcachefs warm"};
  std::vector<std::string> paths;
  app.add_option("PATH", paths, "files or directories in a wtcachefs view")->required();
  if (auto exit_code = Parse(app, argc, argv, "warm")) return *exit_code;

  struct File {
    std::string path;
    uint64_t size;
  };
  std::vector<File> files;
  uint64_t total = 0;
  for (const std::string& path : paths) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (error) {
      std::cerr << "wtcachefs warm: cannot reach '" << path << "': " << error.message() << "\n";
      return kExitBadPath;
    }
    if (std::filesystem::is_regular_file(status)) {
      files.push_back({path, std::filesystem::file_size(path, error)});
    } else if (std::filesystem::is_directory(status)) {
      for (auto it = std::filesystem::recursive_directory_iterator(path, error);
           !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
        if (it->is_regular_file(error)) files.push_back({it->path(), it->file_size(error)});
      }
      if (error) {
        std::cerr << "wtcachefs warm: cannot list '" << path << "': " << error.message()
                  << "\n";
        return kExitBadPath;
      }
    }
  }
  for (const File& file : files) total += file.size;

  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  constexpr uint64_t kChunk = 64 << 20;  // one command per 64 MiB: the bar moves
  uint64_t done = 0;
  int worst = kExitOk;
  for (const File& file : files) {
    for (uint64_t offset = 0; offset < file.size || (offset == 0 && file.size == 0);
         offset += kChunk) {
      const uint64_t length = std::min(kChunk, file.size - offset);
      const int code = SendCommand("warm", file.path, "wtcachefs.warm",
                                   std::to_string(offset) + " " + std::to_string(length));
      if (code != kExitOk) {
        if (code == kExitBadPath) return code;  // not a view: every file will fail alike
        worst = code;
        break;
      }
      done += length;
      if (terminal) DrawProgress(done, total);
      if (file.size == 0) break;
    }
  }
  if (terminal) std::fputc('\n', stderr);
  std::cout << "warmed " << files.size() << (files.size() == 1 ? " file, " : " files, ")
            << Bytes(done) << "\n";
  return worst;
}

}  // namespace wtcachefs
