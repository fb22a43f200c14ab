// SPDX-License-Identifier: Apache-2.0
#include "fuse/fuse_session_runner.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fuse/image_fs.h"
#include "fuse/mirror_fs.h"
#include "fuse/request_pool.h"
#include "fuse/stop_signals.h"
#include "fuse/uring_operations.h"
#include "wtcachefs/unique_fd.h"

namespace wtcachefs {
namespace {

// fuse_opt treats ',' as a separator and '\' as an escape inside -o values.
std::string EscapeOptionValue(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == ',' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

std::string KernelOptionString(const Options& options) {
  std::string joined = "fsname=" + EscapeOptionValue(options.origin) + ",subtype=wtcachefs";
  if (options.default_permissions) joined += ",default_permissions";
  for (const std::string& option : options.kernel_options) {
    joined += "," + EscapeOptionValue(option);
  }
  return joined;
}

// Collects what libfuse (and fusermount3, which libfuse runs for unprivileged
// mounts) prints on stderr while the session is created and mounted, so that a
// failure is reported as one line that carries their reason. Messages of a
// setup that succeeds are passed on to stderr unchanged.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    buffer_.reset(::memfd_create("wtcachefs-mount-messages", MFD_CLOEXEC));
    saved_.reset(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0));
    if (buffer_.valid() && saved_.valid()) {
      active_ = ::dup2(buffer_.get(), STDERR_FILENO) == STDERR_FILENO;
    }
  }
  ~StderrCapture() { PassOn(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Restores stderr and returns the messages as one line ("" when there were none).
  std::string TakeAsOneLine() {
    std::string text = Restore();
    std::string line;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string piece = text.substr(start, end - start);
      while (!piece.empty() && (piece.back() == '\r' || piece.back() == ' ')) piece.pop_back();
      if (!piece.empty()) line += (line.empty() ? "" : "; ") + piece;
      start = end + 1;
    }
    return line;
  }

  // Restores stderr and writes the collected messages to it.
  void PassOn() {
    const std::string text = Restore();
    if (!text.empty() && ::write(STDERR_FILENO, text.data(), text.size()) < 0) {
      // Nothing sensible is left to report to.
    }
  }

 private:
  std::string Restore() {
    if (!active_) return {};
    active_ = false;
    std::fflush(stderr);
    ::dup2(saved_.get(), STDERR_FILENO);
    // No copy of the caller's stderr may outlive this: a daemon that kept one
    // would hold `wtcachefs ... 2>&1 | cat` open until it stops.
    saved_.reset();
    std::string text;
    char chunk[4096];
    off_t offset = 0;
    ssize_t n;
    while ((n = ::pread(buffer_.get(), chunk, sizeof(chunk), offset)) > 0) {
      text.append(chunk, static_cast<size_t>(n));
      offset += n;
    }
    buffer_.reset();
    return text;
  }

  UniqueFd buffer_;
  UniqueFd saved_;
  bool active_ = false;
};

// " (reason)" when libfuse said something, else "".
std::string Reason(const std::string& messages) {
  return messages.empty() ? std::string() : " (" + messages + ")";
}

struct SessionDeleter {
  void operator()(fuse_session* session) const { fuse_session_destroy(session); }
};

// Mounts a session of `operations` over `view` at VIEW and serves it.
ServeResult ServeSession(const Options& options, Transport transport,
                         const fuse_lowlevel_ops& view_operations, ViewState& view,
                         DataEngine& engine, const std::function<void()>& on_mounted) {
  void* const userdata = &view;
  const std::string option_string = KernelOptionString(options);
  std::vector<std::string> argv_storage = {"wtcachefs", "-o", option_string};
  if (options.debug) argv_storage.push_back("-d");
  // Over io_uring the ring threads hand requests to the pool; at most
  // max_threads of them wait in each CPU's queue.
  std::optional<RequestPool> pool;
  RequestsInFlight in_flight;
  std::optional<UringOffload> offload;
  fuse_lowlevel_ops operations = view_operations;
  if (transport == Transport::kIoUring) {
    argv_storage.push_back("-o");
    argv_storage.push_back("io_uring,io_uring_q_depth=" + std::to_string(options.max_threads));
    pool.emplace(options.max_threads);
    offload.emplace(UringOffload{view_operations, &*pool, &in_flight, nullptr, nullptr});
    if (view_operations.read == &ops::Read) offload->read_in_place = &ops::ReadWithoutWaiting;
    if (view_operations.write == &ops::Write) {
      offload->write_in_place = &ops::WriteWithoutWaiting;
    }
    view.set_uring_offload(&*offload);
    operations = OffloadedOperations(view_operations);
  }
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  StderrCapture libfuse_messages;
  std::unique_ptr<fuse_session, SessionDeleter> session(
      fuse_session_new(&args, &operations, sizeof(fuse_lowlevel_ops), userdata));
  fuse_opt_free_args(&args);  // libfuse may have reallocated the vector
  if (!session) {
    return {ServeFailure::kSetup,
            Status::Error(EINVAL, "libfuse rejected the mount options '" + option_string +
                                      "'" + Reason(libfuse_messages.TakeAsOneLine()) +
                                      ": remove the unsupported -o option")};
  }
  if (const int rc = StopSignals::Install(session.get()); rc != 0) {
    return {ServeFailure::kSetup, Status::Error(-rc, "cannot install signal handlers")};
  }
  if (fuse_session_mount(session.get(), options.view.c_str()) != 0) {
    StopSignals::Release();
    return {ServeFailure::kMount,
            Status::Error(EIO, "cannot mount at view '" + options.view + "'" +
                                   Reason(libfuse_messages.TakeAsOneLine()) +
                                   ": check that /dev/fuse exists and that you may mount "
                                   "there")};
  }
  libfuse_messages.PassOn();
  view.kernel_cache().Start(session.get());
  engine.set_external_change_listener([&view](uint64_t dev, uint64_t ino) {
    if (const auto node = view.NodeOf(dev, ino)) view.kernel_cache().Invalidate(*node);
  });
  // The data changes whose reply carries no attributes (write, fallocate,
  // copy_file_range, an O_TRUNC open) would leave cleared privilege bits in
  // the kernel's attributes until they time out: dropped before the reply.
  engine.set_privilege_drop_listener([&view](uint64_t dev, uint64_t ino) {
    constexpr std::chrono::seconds kAttributeRefreshWait{1};
    if (const auto node = view.NodeOf(dev, ino)) {
      view.kernel_cache().InvalidateAttributesAndWait(*node, kAttributeRefreshWait);
    }
  });
  on_mounted();

  fuse_loop_config* loop_config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(loop_config, options.max_threads);
  // Workers are never retired: each owns an io_uring ring and a request buffer
  // the size of the largest request, and a queue that comes and goes would
  // otherwise create and tear them down over and over.
  fuse_loop_cfg_set_idle_threads(loop_config, options.max_threads);
  const int rc = fuse_session_loop_mt(session.get(), loop_config);
  fuse_loop_cfg_destroy(loop_config);
  // Requests still in flight get their replies (the kernel may have gone: they
  // then fail harmlessly) before the view and the engine they use go away.
  // Those that arrive until the session ends are served where they arrive.
  // The rings live until the session is destroyed (libfuse as
  // scripts/install-libfuse.sh builds it), so these replies have them.
  if (pool) {
    in_flight.CloseAndWait();
    pool->Stop();
  }
  engine.set_external_change_listener(nullptr);
  engine.set_privilege_drop_listener(nullptr);
  view.kernel_cache().Stop();

  StopSignals::Release();
  fuse_session_unmount(session.get());
  if (rc < 0) {
    return {ServeFailure::kServe, Status::Error(-rc, "serving the view '" + options.view +
                                                         "' failed")};
  }
  return {};
}

}  // namespace

Result<ResolvedTransport> ResolveTransport(TransportChoice choice,
                                           const TransportAvailability& available) {
  switch (choice) {
    case TransportChoice::kDevFuse:
      return ResolvedTransport{Transport::kDevFuse, {}};
    case TransportChoice::kIoUring:
      if (!available.io_uring) {
        return Status::Error(ENOTSUP, "option transport=io_uring cannot be honoured: " +
                                          available.reason +
                                          "; or mount with -o transport=auto");
      }
      return ResolvedTransport{Transport::kIoUring, {}};
    case TransportChoice::kAuto:
      break;
  }
  if (available.io_uring) return ResolvedTransport{Transport::kIoUring, {}};
  return ResolvedTransport{Transport::kDevFuse, "serving over /dev/fuse: " + available.reason};
}

ServeResult ServeView(const Options& options, Transport transport, DataEngine& engine,
                      std::optional<ImageOrigin> image, const std::function<void()>& on_mounted,
                      ViewControl control) {
  if (image) {
    ImageFs fs(options, engine, std::move(*image), std::move(control));
    return ServeSession(options, transport, ImageFs::Operations(), fs, engine, on_mounted);
  }
  UniqueFd root_fd(::open(options.origin.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return {ServeFailure::kSetup, Status::FromErrno("cannot open origin '" + options.origin +
                                                    "'")};
  }
  struct stat root_stat;
  if (::fstat(root_fd.get(), &root_stat) != 0) {
    return {ServeFailure::kSetup, Status::FromErrno("cannot stat origin '" + options.origin +
                                                    "'")};
  }
  MirrorFs fs(options, engine, std::move(root_fd), root_stat, std::move(control));
  return ServeSession(options, transport, MirrorFs::Operations(), fs, engine, on_mounted);
}

}  // namespace wtcachefs
