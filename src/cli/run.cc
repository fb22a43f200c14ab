// SPDX-License-Identifier: Apache-2.0
#include "cli/run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "cli/allow_other_check.h"
#include "cli/cache_setup.h"
#include "cli/check_command.h"
#include "cli/command_line.h"
#include "cli/control_commands.h"
#include "cli/exit_codes.h"
#include "cli/logger.h"
#include "cli/open_file_limit.h"
#include "cli/preflight.h"
#include "cli/service_notify.h"
#include "cli/status_command.h"
#include "cli/view_control.h"
#include "cache_dir/cache_directory.h"
#include "fuse/fuse_session_runner.h"
#include "fuse/read_ahead.h"
#include "fuse/stop_signals.h"
#include "wtcachefs/cache_engine.h"
#include "wtcachefs/io_backend.h"

namespace wtcachefs {
namespace {

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
// Sets the view's read-ahead (options.read_ahead) on the first open.
ViewControl ViewControlWithReadAhead(ViewControl control, const Options& options, Logger& log) {
  if (options.read_ahead == 0) return control;
  control.first_open = [&options, &log] {
    if (Status s = SetViewReadAhead(options.view, options.read_ahead); !s.ok()) {
      log.Info("the view's read-ahead stays the kernel's 128 KiB: " + s.message());
    }
  };
  return control;
}

// Reports the view's readiness: to the log, to the parent, to systemd.
void AnnounceServing(const Options& options, const std::string& how, Logger& log,
                     const std::function<void()>& on_mounted) {
  on_mounted();
  log.Info("serving " + options.view + ": " + options.origin + " " + how);
  if (!NotifyServiceReady("serving " + options.view)) {
    log.Warn("cannot report readiness to $NOTIFY_SOCKET");
  }
}

// Serves the view until it is unmounted, then shuts `cache` down cleanly.
int ServeCached(const Options& options, Transport transport, CacheEngine& cache,
                std::optional<ImageOrigin> image, Logger& log,
                const std::function<void()>& on_mounted) {
  for (const std::string& warning : cache.warnings()) log.Warn(warning);
  cache.set_degraded_listener([&log, &options](const std::string& reason) {
    log.Error("the cache in '" + options.cache + "' is degraded (" + reason +
              "): serving from the origin only, no data is lost; check the cache device, "
              "then remount (a cache whose file system was full is used again by itself "
              "once there is room)");
  });
  cache.set_recovered_listener([&log, &options] {
    log.Info("the cache in '" + options.cache + "' is in use again: its metadata could be "
             "written");
  });
  cache.set_corruption_listener([&log](const std::string& message) { log.Warn(message); });
  const ServeResult result = ServeView(
      options, transport, cache, std::move(image),
      [&] {
        cache.MarkServing();
        AnnounceServing(options,
                        "cached in " + options.cache + " (" +
                            std::to_string(cache.stats().total_blocks) + " blocks of " +
                            std::to_string(cache.block_size() / 1024) + " KiB, policy " +
                            std::string(PolicyName(options.policy)) + ", over " +
                            std::string(TransportName(transport)) + ")",
                        log, on_mounted);
      },
      ViewControlWithReadAhead(MakeViewControl(cache, log), options, log));
  int exit_code = ExitCodeFor(result.failure);
  if (result.failure != ServeFailure::kNone) log.Error(result.status.message());
  if (Status closed = cache.Close(); !closed.ok()) {
    log.Error("the cache was not shut down cleanly (" + closed.message() +
              "); the next mount recovers it");
    if (exit_code == kExitOk) exit_code = kExitRuntime;
  } else {
    log.Info("stopped serving " + options.view + "; the cache is flushed and marked clean");
  }
  return exit_code;
}

// Serves the view from the origin alone (OriginOnlyEngine) until unmounted.
int ServeUncached(const Options& options, Transport transport, OriginOnlyEngine& engine,
                  std::optional<ImageOrigin> image, Logger& log,
                  const std::function<void()>& on_mounted) {
  const ServeResult result = ServeView(
      options, transport, engine, std::move(image),
      [&] {
        AnnounceServing(options,
                        "uncached, the cache being unusable (" + engine.reason() + "), over " +
                            std::string(TransportName(transport)),
                        log, on_mounted);
      },
      ViewControlWithReadAhead(MakeUncachedViewControl(engine, log), options, log));
  if (result.failure != ServeFailure::kNone) log.Error(result.status.message());
  log.Info("stopped serving " + options.view);
  return ExitCodeFor(result.failure);
}

// True when the cache `cache_dir` exists but its file system cannot take its
// writes (Start()'s `failure`): the view is served uncached rather than not at
// all. A new cache that cannot be made, or a reservation that does not fit, is
// refused.
bool CacheFileSystemFailed(const std::string& cache_dir, const Status& failure) {
  const int error = failure.error();
  if (error != EROFS && error != EIO && error != ENOSPC && error != EDQUOT) return false;
  struct stat st;
  return ::stat((cache_dir + CacheDirectory::kMetaDirName).c_str(), &st) == 0;
}

int MountAndServe(const Options& options, const IoBackendFactory& make_io, Logger& log,
                  const std::function<void()>& on_mounted) {
  StopSignals::BlockForStartup();
  if (const uint64_t files = RaiseOpenFileLimit(); files < 65536) {
    log.Info("at most " + std::to_string(files) +
             " open files: about half that many files can be open through the view at "
             "once (raise RLIMIT_NOFILE for more)");
  }
  auto io = make_io();
  if (!io.ok()) {
    log.Error(io.status().message());
    return kExitRuntime;
  }
  std::optional<ImageOrigin> image;
  if (!options.image_name.empty()) {
    auto opened = OpenImageOrigin(options);
    if (!opened.ok()) {
      log.Error(opened.status().message());
      return kExitBadPath;
    }
    image = std::move(opened).value();
  }
  const auto transport = ResolveTransport(options.transport, UringAvailability());
  if (!transport.ok()) {
    log.Error(transport.status().message());
    return kExitUsage;
  }
  if (!transport.value().note.empty()) log.Info(transport.value().note);
  std::string uncached = options.cache_unavailable;
  if (uncached.empty()) {
    auto config = MakeCacheConfig(options);
    if (!config.ok()) {
      log.Error(config.status().message());
      return kExitBadPath;
    }
    config.value().on_lock_wait = [&log](const std::string& message) { log.Warn(message); };
    auto engine = CacheEngine::Start(config.value(), *io.value());
    if (engine.ok()) {
      return ServeCached(options, transport.value().transport, *engine.value(),
                         std::move(image), log, on_mounted);
    }
    if (!CacheFileSystemFailed(options.cache, engine.status())) {
      log.Error(engine.status().message());
      return ExitCodeForCacheError(engine.status());
    }
    uncached = engine.status().message();
  }
  // A writethrough cache never stands between its users and the origin.
  log.Error("the cache in '" + options.cache + "' cannot be used (" + uncached +
            "): serving " + options.view + " from the origin only, uncached; no data is at "
            "risk. Fix the cache's file system, then remount");
  OriginOnlyEngine origin_only(uncached);
  return ServeUncached(options, transport.value().transport, origin_only, std::move(image), log,
                       on_mounted);
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
  Logger log(options.log_level);
  return MountAndServe(options, make_io, log, [&] {
    log.Detach();
    RedirectStdioToDevNull();
    const char ready = 1;
    if (::write(ready_pipe[1], &ready, 1) != 1) log.Error("cannot signal readiness");
    ::close(ready_pipe[1]);
  });
}

}  // namespace

int RunWtcachefs(int argc, char** argv, const IoBackendFactory& make_io) {
  // A directory named like a command (status, invalidate, warm, check, tune) is
  // given as ./NAME.
  if (argc >= 2 && std::string_view(argv[1]) == "status") return RunStatusCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "invalidate") {
    return RunInvalidateCommand(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "warm") return RunWarmCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "check") return RunCheckCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "tune") return RunTuneCommand(argc, argv);
  Options options;
  if (auto exit_code = ParseCommandLine(argc, argv, options)) return *exit_code;
  if (Status s = options.Validate(); !s.ok()) {
    std::cerr << "wtcachefs: " << s.message() << "\n";
    return kExitUsage;
  }
  if (auto transport = ResolveTransport(options.transport, UringAvailability());
      !transport.ok()) {
    std::cerr << "wtcachefs: " << transport.status().message() << "\n";
    return kExitUsage;
  }
  if (Status s = CheckAllowOtherPermitted(options, ::getuid(), ::geteuid()); !s.ok()) {
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
    Logger log(options.log_level);
    return MountAndServe(options, make_io, log, [] {});
  }
  return DaemonizeAndServe(options, make_io);
}

}  // namespace wtcachefs
