// SPDX-License-Identifier: Apache-2.0
// MirrorFs: the low-level FUSE filesystem that mirrors ORIGIN at VIEW. Namespace and
// metadata operations go to origin through O_PATH fds of the InodeTable; file
// data goes through the DataEngine. Every callback replies exactly once and never
// lets an exception escape into libfuse.
//
// Thread safety: callbacks run concurrently on libfuse's worker threads. MirrorFs
// state is either immutable after construction or internally synchronised.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "fuse/default_acl_cache.h"
#include "fuse/dir_handle.h"
#include "fuse/handle_registry.h"
#include "fuse/inode_table.h"
#include "fuse/kernel_cache_invalidator.h"
#include "fuse/view_inode_numbers.h"
#include "wtcachefs/data_engine.h"
#include "wtcachefs/options.h"
#include "wtcachefs/transport.h"

namespace wtcachefs {

struct UringOffload;
class RequestsInFlight;

// Answers reads of the view root's reserved "wtcachefs.*" extended attributes
// (status reports); nullopt for an unknown name.
// `transport`: what the request that asks travelled over.
using ControlAttributes =
    std::function<std::optional<std::string>(std::string_view name, Transport transport)>;
// Runs a write of a "wtcachefs.*" attribute: a command (invalidate, warm) for one
// file, given as an fd of its origin opened for reading, or for the whole cache
// (origin_fd -1, the attribute written on the view's root). 0 or an errno.
using ControlCommand =
    std::function<int(std::string_view name, std::string_view value, int origin_fd)>;
struct ViewControl {
  ControlAttributes read;
  ControlCommand command;
  // Run once, on the first open of a file: the kernel has processed the INIT
  // reply by then (view settings INIT would undo, such as read-ahead).
  std::function<void()> first_open;
  // Logs a warning from the view (inode numbers it cannot keep unique or
  // stable); may be empty.
  std::function<void(const std::string& message)> warn;
};
inline constexpr std::string_view kControlPrefix = "wtcachefs.";

// What both views (MirrorFs, ImageFs) share with the callbacks common to them:
// the engine and the handles given to the kernel. The session's userdata is
// always a ViewState*.
class ViewState {
 public:
  ViewState(DataEngine& engine, ViewControl control)
      : engine_(engine), control_(std::move(control)) {}
  virtual ~ViewState() = default;
  static ViewState& From(fuse_req_t req) {
    return *static_cast<ViewState*>(fuse_req_userdata(req));
  }
  DataEngine& engine() { return engine_; }
  HandleRegistry<OpenFile>& open_files() { return open_files_; }
  HandleRegistry<DirHandle>& open_dirs() { return open_dirs_; }
  const ViewControl& control() const { return control_; }
  void FirstOpen() {
    if (control_.first_open) std::call_once(first_open_once_, control_.first_open);
  }
  // The node id the kernel knows origin object (dev, ino) by, if any.
  virtual std::optional<fuse_ino_t> NodeOf(uint64_t dev, uint64_t ino) const = 0;
  // Set once file node `ino` was opened or read other than with O_DIRECT: from
  // then on the kernel may hold page cache of it, which an O_DIRECT write must
  // not leave behind older than itself (the Write callback).
  virtual std::atomic<bool>& PageCacheUsed(fuse_ino_t ino) = 0;
  KernelCacheInvalidator& kernel_cache() { return kernel_cache_; }
  // Where requests that arrive over io_uring are served (fuse/uring_operations.h);
  // null over /dev/fuse. Set before the session starts.
  const UringOffload* uring_offload() const { return uring_offload_; }
  void set_uring_offload(const UringOffload* offload) { uring_offload_ = offload; }

 private:
  DataEngine& engine_;
  KernelCacheInvalidator kernel_cache_;
  const ViewControl control_;
  HandleRegistry<OpenFile> open_files_;
  HandleRegistry<DirHandle> open_dirs_;
  std::once_flag first_open_once_;
  const UringOffload* uring_offload_ = nullptr;
};

class MirrorFs : public ViewState {
 public:
  MirrorFs(const Options& options, DataEngine& engine, UniqueFd root_fd,
           const struct stat& root_stat, ViewControl control);

  static const fuse_lowlevel_ops& Operations();
  static MirrorFs& From(fuse_req_t req) {
    return static_cast<MirrorFs&>(ViewState::From(req));
  }

  const Options& options() const { return options_; }
  InodeTable& inodes() { return inodes_; }
  ViewInodeNumbers& inode_numbers() { return numbers_; }
  // Makes `st`, origin's attributes of node `ino`, those the view shows: its
  // inode number in the view (fuse/view_inode_numbers.h).
  void ToViewAttributes(fuse_ino_t ino, struct stat* st) {
    st->st_ino = static_cast<ino_t>(inodes_.Get(ino).view_ino);
  }
  std::optional<fuse_ino_t> NodeOf(uint64_t dev, uint64_t ino) const override {
    return inodes_.IdOf(static_cast<dev_t>(dev), static_cast<ino_t>(ino));
  }
  std::atomic<bool>& PageCacheUsed(fuse_ino_t ino) override {
    return inodes_.Get(ino).page_cache_used;
  }
  // The O_PATH fd of `ino`, open while the result lives; check error() first.
  InodeFd FdOf(fuse_ino_t ino) { return inodes_.Open(ino); }

  // Looks `name` up in `parent` and fills `entry` (taking one kernel lookup
  // reference). Returns 0 or an errno. `created`: the caller just created it
  // (no entry can know it yet).
  int Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* entry, bool created = false);

  // The mode to create `mode` with in directory `parent`, open at `parent_fd`,
  // for the caller of `req`. When the kernel leaves the umask to us
  // (FUSE_CAP_DONT_MASK, negotiated with POSIX ACLs) it is applied here unless
  // `parent` has a default ACL, which origin then applies instead of the
  // umask, as for a local caller.
  mode_t CreationMode(fuse_req_t req, fuse_ino_t parent, int parent_fd, mode_t mode);
  DefaultAclCache& default_acls() { return default_acls_; }
  // Called once from Init, before any other request.
  void set_kernel_leaves_umask(bool leaves) { kernel_leaves_umask_ = leaves; }

 private:
  const Options& options_;
  ViewInodeNumbers numbers_;  // before inodes_, which numbers its entries with it
  InodeTable inodes_;
  DefaultAclCache default_acls_;
  bool kernel_leaves_umask_ = false;  // written by Init only, before other requests
};

// "/proc/self/fd/N": a path that reaches the object of an O_PATH fd for the calls
// that have no fd form (xattrs, chmod, utimens and reopen).
std::string ProcFdPath(int fd);

// Runs a callback body that returns 0 after replying itself or an errno to reply
// with. Exceptions become ENOMEM / EIO, so exactly one reply is always sent.
// A body replies last: after the reply the kernel may release the file or
// forget the inode at once, so no lock or reference to per-handle or per-inode
// state may still be held.
template <typename Body>
void Serve(fuse_req_t req, Body&& body) noexcept {
  int error;
  try {
    error = body();
  } catch (const std::bad_alloc&) {
    error = ENOMEM;
  } catch (...) {
    error = EIO;
  }
  if (error != 0) fuse_reply_err(req, error);
}

// While alive, the calling thread creates origin objects with the requesting
// user's fsuid, fsgid and supplementary groups, so ownership, setgid directories
// and origin permission checks behave as if the caller had acted on origin.
// A no-op when the daemon is not root or the caller is root with group root.
class CallerCredentials {
 public:
  explicit CallerCredentials(fuse_req_t req);
  ~CallerCredentials();
  CallerCredentials(const CallerCredentials&) = delete;
  CallerCredentials& operator=(const CallerCredentials&) = delete;
  int error() const { return error_; }

 private:
  bool switched_ = false;
  int error_ = 0;
};

// True when the caller of `req` is in group `gid`, by its fsgid or by a
// supplementary group (the kernel's in_group_p). A caller gone meanwhile has
// its primary group only.
bool CallerInGroup(fuse_req_t req, gid_t gid);

// The caller of `req` as a ChangeCaller: the engine clears the setuid and
// setgid bits of a file whose data it changed as origin's kernel would have
// had the caller changed it directly. The kernel's FUSE client clears setuid
// and group-executable setgid for writes, truncates and fallocate (by a
// SETATTR), but keeps the setgid of a file that is not group-executable
// whatever the caller's groups, and clears nothing for an O_TRUNC open
// (atomic_o_trunc); the daemon, as root, would keep them all. Valid while
// `req` is unanswered.
ChangeCaller CallerOf(fuse_req_t req);

// Callback groups, one file each.
namespace ops {
void Init(void* userdata, fuse_conn_info* conn);
void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid, fuse_file_info* fi);
void Readlink(fuse_req_t req, fuse_ino_t ino);
void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags);
void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
void Statfs(fuse_req_t req, fuse_ino_t ino);

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi);
void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi);
void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
               fuse_file_info* fi);
void Lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi);
void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                   fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                   int flags);

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void Releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
              size_t size, int flags);
void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

// Pieces shared with the image view (image_fs.cc).

// The callbacks of an open file's data (read, write, flush, release, fsync,
// fallocate, lseek, copy_file_range): they use only the OpenFile in fi->fh.
void AddDataOperations(fuse_lowlevel_ops& o);
// Serves a read over io_uring from the ring thread itself when nothing makes
// it wait: cache hits at once (OpenFile::ReadIfCached), misses by submitting
// their IO and replying from its completion (OpenFile::ReadAsync, counted in
// `in_flight`). False, with nothing done, when it must be served by Read().
bool ReadWithoutWaiting(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        fuse_file_info* fi, RequestsInFlight& in_flight) noexcept;
// Submits a write over io_uring from the ring thread itself when nothing makes
// it wait first (OpenFile::WriteAsync); its IO's completion replies, counted in
// `in_flight`. False, with nothing done, when it must be served by Write().
bool WriteWithoutWaiting(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                         fuse_file_info* fi, RequestsInFlight& in_flight) noexcept;
// Connection settings of every view: 1 MiB writes, no splice, no writeback cache,
// as many asynchronous requests in flight as there are workers.
void NegotiateDataPath(fuse_conn_info* conn, const Options& options);
// Flags for an origin fd opened for the kernel's open `flags`: offsets are
// always explicit (the kernel resolves O_APPEND), payloads are not aligned for
// O_DIRECT (DESIGN §4), and O_TRUNC goes through the engine.
int OriginOpenFlags(int flags);
// Hands `fd`, opened for node `ino`, to the view's engine, applies O_TRUNC,
// and stores the handle in `fi` (registered with the view). Returns 0 or an
// errno.
int AttachOpenFile(fuse_req_t req, ViewState& view, fuse_ino_t ino, UniqueFd fd,
                   fuse_file_info* fi);
// Applies setattr's mode, owner, size (through the engine) and times to the
// object open at `path_fd` (O_PATH), or through `file` when the caller has it
// open; a new size by the caller of `req` drops privilege bits as on origin.
// Returns 0 or an errno.
int ApplyAttributes(fuse_req_t req, DataEngine& engine, int path_fd, OpenFile* file,
                    const struct stat& attr, int valid);
// Runs a write of control attribute `name` (a command) on the whole cache
// (`file_path` null) or on the regular file whose origin `file_path` opens,
// and replies. 0 or an errno to reply with.
int RunControlCommand(fuse_req_t req, const ViewControl& control, const char* name,
                      const char* value, size_t size, const std::string* file_path);
// Replies to a getxattr of a control attribute; 0 or an errno to reply with.
int ReplyControlAttribute(fuse_req_t req, const ControlAttributes& control, const char* name,
                          size_t size);
// Replies with getxattr / listxattr of `path`; 0 or an errno to reply with.
int ReplyGetxattr(fuse_req_t req, const std::string& path, const char* name, size_t size);
int ReplyListxattr(fuse_req_t req, const std::string& path, size_t size);
}  // namespace ops

}  // namespace wtcachefs
