#include "cli/status_command.h"

#include <sys/xattr.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"

namespace wtcachefs {

int RunStatusCommand(int argc, char** argv) {
  CLI::App app{"Prints the cache statistics of a mounted wtcachefs view.", "wtcachefs status"};
  std::string view;
  bool json = false;
  bool line = false;
  app.add_option("VIEW", view, "the mount point of a wtcachefs view")->required();
  auto* json_flag = app.add_flag("--json", json, "JSON, for programs");
  app.add_flag("--line", line, "one line of name=value fields, like dmsetup status")
      ->excludes(json_flag);
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wtcachefs status: " << e.what()
              << " (run 'wtcachefs status --help' for usage)\n";
    return kExitUsage;
  }

  const std::string name = json ? "wtcachefs.status.json"
                           : line ? "wtcachefs.status.line"
                                  : "wtcachefs.status";
  std::vector<char> value(1 << 16);
  ssize_t n = -1;
  for (int attempt = 0; attempt < 4; ++attempt) {
    n = ::getxattr(view.c_str(), name.c_str(), value.data(), value.size());
    if (n >= 0 || errno != ERANGE) break;
    value.resize(value.size() * 4);
  }
  if (n < 0) {
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
  std::cout.write(value.data(), n);
  return kExitOk;
}

}  // namespace wtcachefs
