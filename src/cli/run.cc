#include "cli/run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <iostream>

#include "cli/cache_setup.h"
#include "cli/check_command.h"
#include "cli/command_line.h"
#include "cli/control_commands.h"
#include "cli/exit_codes.h"
#include "cli/preflight.h"
#include "cli/service_notify.h"
#include "cli/status_command.h"
#include "cli/view_control.h"
#include "fuse/fuse_session_runner.h"
#include "fuse/stop_signals.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/io_backend.h"

namespace wtcachefs {
namespace {

// Where errors go: stderr until the daemon has detached, syslog afterwards.
class ErrorSink {
 public:
  void Detach() {
    ::openlog("wtcachefs", LOG_PID, LOG_DAEMON);
    detached_ = true;
  }
  void Report(const std::string& message) const { Log(LOG_ERR, message); }
  void Warn(const std::string& message) const { Log(LOG_WARNING, "warning: " + message); }

 private:
  void Log(int priority, const std::string& message) const {
    if (detached_) {
      ::syslog(priority, "%s", message.c_str());
    } else {
      std::cerr << "wtcachefs: " << message << "\n";
    }
  }

  bool detached_ = false;
};

int ExitCodeFor(ServeFailure failure) {
  switch (failure) {
    case ServeFailure::kNone: return kExitOk;
    case ServeFailure::kSetup: return kExitRuntime;
    case ServeFailure::kMount: return kExitMountFailed;
    case ServeFailure::kServe: return kExitRuntime;
  }
  return kExitRuntime;
}

// Starts the cache engine, mounts and serves, then shuts the cache down cleanly.
// `on_mounted` runs once the view is in place. Runs in the process that serves:
// the engine's threads must not cross a fork.
int MountAndServe(const Options& options, const IoBackendFactory& make_io, ErrorSink& errors,
                  const std::function<void()>& on_mounted) {
  StopSignals::BlockForStartup();
  auto io = make_io();
  if (!io.ok()) {
    errors.Report(io.status().message());
    return kExitRuntime;
  }
  auto config = MakeCacheConfig(options);
  if (!config.ok()) {
    errors.Report(config.status().message());
    return kExitBadPath;
  }
  std::optional<ImageOrigin> image;
  if (!options.image_name.empty()) {
    auto opened = OpenImageOrigin(options);
    if (!opened.ok()) {
      errors.Report(opened.status().message());
      return kExitBadPath;
    }
    image = std::move(opened).value();
  }
  auto engine = CacheEngine::Start(config.value(), *io.value());
  if (!engine.ok()) {
    errors.Report(engine.status().message());
    return ExitCodeForCacheError(engine.status());
  }
  for (const std::string& warning : engine.value()->warnings()) errors.Warn(warning);
  CacheEngine& cache = *engine.value();
  const ServeResult result =
      ServeView(options, cache, std::move(image),
                [&] {
                  on_mounted();
                  if (!NotifyServiceReady("serving " + options.view)) {
                    errors.Warn("cannot report readiness to $NOTIFY_SOCKET");
                  }
                },
                MakeViewControl(cache));
  int exit_code = ExitCodeFor(result.failure);
  if (result.failure != ServeFailure::kNone) errors.Report(result.status.message());
  if (Status closed = engine.value()->Close(); !closed.ok()) {
    errors.Report("the cache was not shut down cleanly (" + closed.message() +
                  "); the next mount recovers it");
    if (exit_code == kExitOk) exit_code = kExitRuntime;
  }
  return exit_code;
}

void RedirectStdioToDevNull() {
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return;
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(null_fd, STDOUT_FILENO);
  ::dup2(null_fd, STDERR_FILENO);
  ::close(null_fd);
}

// The parent waits until the child has mounted (exit 0) or failed (the child's
// exit code), so `wtcachefs ...` and mount(8) report mount errors synchronously.
int DaemonizeAndServe(const Options& options, const IoBackendFactory& make_io) {
  int ready_pipe[2];
  if (::pipe2(ready_pipe, O_CLOEXEC) != 0) {
    std::cerr << "wtcachefs: cannot create a pipe to start the daemon\n";
    return kExitRuntime;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::cerr << "wtcachefs: cannot fork the daemon\n";
    return kExitRuntime;
  }
  if (child > 0) {
    ::close(ready_pipe[1]);
    char ready = 0;
    ssize_t n;
    do {
      n = ::read(ready_pipe[0], &ready, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) return kExitOk;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : kExitRuntime;
  }
  ::close(ready_pipe[0]);
  ::setsid();
  if (::chdir("/") != 0) return kExitRuntime;
  ErrorSink errors;
  return MountAndServe(options, make_io, errors, [&] {
    errors.Detach();
    RedirectStdioToDevNull();
    const char ready = 1;
    if (::write(ready_pipe[1], &ready, 1) != 1) errors.Report("cannot signal readiness");
    ::close(ready_pipe[1]);
  });
}

}  // namespace

int RunWtcachefs(int argc, char** argv, const IoBackendFactory& make_io) {
  // A directory really named "status", "invalidate", "warm" or "check" is given as ./NAME.
  if (argc >= 2 && std::string_view(argv[1]) == "status") return RunStatusCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "invalidate") {
    return RunInvalidateCommand(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "warm") return RunWarmCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "check") return RunCheckCommand(argc, argv);
  Options options;
  if (auto exit_code = ParseCommandLine(argc, argv, options)) return *exit_code;
  if (Status s = options.Validate(); !s.ok()) {
    std::cerr << "wtcachefs: " << s.message() << "\n";
    return kExitUsage;
  }
  if (Status s = CheckMountPaths(options); !s.ok()) {
    std::cerr << "wtcachefs: " << s.message() << "\n";
    return kExitBadPath;
  }
  // Modes arrive from the kernel with the caller's umask already applied.
  ::umask(0);
  if (options.foreground) {
    ErrorSink errors;
    return MountAndServe(options, make_io, errors, [] {});
  }
  return DaemonizeAndServe(options, make_io);
}

}  // namespace wtcachefs
