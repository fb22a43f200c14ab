// The whole wtcachefs command: parse, check, daemonize, mount and serve.
#pragma once

namespace wtcachefs {

// Returns the process exit code (see cli/exit_codes.h and wtcachefs(8)).
int RunWtcachefs(int argc, char** argv);

}  // namespace wtcachefs
