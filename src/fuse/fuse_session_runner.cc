#include "fuse/fuse_session_runner.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "fuse/mirror_fs.h"

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

struct SessionDeleter {
  void operator()(fuse_session* session) const { fuse_session_destroy(session); }
};

}  // namespace

ServeResult ServeMirror(const Options& options, DataEngine& engine,
                        const std::function<void()>& on_mounted,
                        std::function<std::optional<std::string>(std::string_view)> control) {
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

  const std::string option_string = KernelOptionString(options);
  std::vector<std::string> argv_storage = {"wtcachefs", "-o", option_string};
  if (options.debug) argv_storage.push_back("-d");
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  std::unique_ptr<fuse_session, SessionDeleter> session(
      fuse_session_new(&args, &MirrorFs::Operations(), sizeof(fuse_lowlevel_ops), &fs));
  fuse_opt_free_args(&args);  // libfuse may have reallocated the vector
  if (!session) {
    return {ServeFailure::kSetup,
            Status::Error(EINVAL, "libfuse rejected the mount options '" + option_string +
                                      "': remove the unsupported -o option")};
  }
  if (fuse_set_signal_handlers(session.get()) != 0) {
    return {ServeFailure::kSetup, Status::Error(EIO, "cannot install signal handlers")};
  }
  if (fuse_session_mount(session.get(), options.view.c_str()) != 0) {
    fuse_remove_signal_handlers(session.get());
    return {ServeFailure::kMount,
            Status::Error(EIO, "cannot mount at view '" + options.view +
                                   "': check that /dev/fuse exists and that you may mount "
                                   "there (see the message above)")};
  }
  on_mounted();

  fuse_loop_config* loop_config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(loop_config, options.max_threads);
  fuse_loop_cfg_set_idle_threads(loop_config, std::min(options.max_threads, 4u));
  const int rc = fuse_session_loop_mt(session.get(), loop_config);
  fuse_loop_cfg_destroy(loop_config);

  fuse_session_unmount(session.get());
  fuse_remove_signal_handlers(session.get());
  // A signal ends the loop with the signal number; that is a clean stop.
  if (rc < 0) {
    return {ServeFailure::kServe, Status::Error(-rc, "serving the view '" + options.view +
                                                         "' failed")};
  }
  return {};
}

}  // namespace wtcachefs
