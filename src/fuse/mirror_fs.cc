// SPDX-License-Identifier: Apache-2.0
#include "fuse/mirror_fs.h"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>


namespace wtcachefs {

namespace {
constexpr unsigned kMaxWrite = 1u << 20;  // 1 MiB requests

// Half the open-file limit for origin O_PATH fds that can be reopened;
// the rest is for open files, directories being read and the metadata store.
size_t PathFdBudget() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 512;
  return std::max<size_t>(64, static_cast<size_t>(limit.rlim_cur / 2));
}
}  // namespace

MirrorFs::MirrorFs(const Options& options, DataEngine& engine, UniqueFd root_fd,
                   const struct stat& root_stat, ViewControl control)
    : ViewState(engine, std::move(control)),
      options_(options),
      numbers_(root_stat.st_dev, engine.device_numbers(), this->control().warn),
      inodes_(std::move(root_fd), root_stat, PathFdBudget(), InodeTable::Handles::kWhereKept,
              InodeTable::Numbering{
                  [this](uint64_t dev, uint64_t ino) { return numbers_.Of(dev, ino); },
                  this->control().warn}),
      default_acls_(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(options.attr_timeout))) {}

std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int MirrorFs::Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* entry, bool created) {
  std::memset(entry, 0, sizeof(*entry));
  entry->attr_timeout = options_.attr_timeout;
  entry->entry_timeout = options_.entry_timeout;

  // ".." of the root must not leave ORIGIN.
  const bool at_root_parent = parent == FUSE_ROOT_ID && std::strcmp(name, "..") == 0;
  const char* const entry_name = at_root_parent ? "." : name;
  const InodeFd parent_fd = FdOf(parent);
  if (parent_fd.error() != 0) return parent_fd.error();
  // Most lookups find a known object (the kernel revalidating a name): one stat
  // by name then does, without opening a descriptor only to close it.
  if (!created) {
    const bool found =
        ::fstatat(parent_fd.get(), entry_name, &entry->attr, AT_SYMLINK_NOFOLLOW) == 0;
    const int error = found ? 0 : errno;
    // DESIGN W8: a file this name led to before may have lost its last link
    // behind the mount (deleted, or replaced by a rename); the engine checks.
    if (found || error == ENOENT) {
      const InodeFd before =
          inodes_.FileLastLookedUpAs(parent, entry_name, found ? &entry->attr : nullptr);
      if (before.error() == 0) engine().Unlinked(before.get());
    }
    if (!found) return error;
    entry->ino = inodes_.AddLookupOfOpen(parent, entry_name, entry->attr);
  }
  if (entry->ino == 0) {
    UniqueFd fd(::openat(parent_fd.get(), entry_name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno;
    if (::fstatat(fd.get(), "", &entry->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return errno;
    }
    entry->ino = inodes_.AddLookup(parent, entry_name, std::move(fd), entry->attr);
  }
  ToViewAttributes(entry->ino, &entry->attr);
  return 0;
}

mode_t MirrorFs::CreationMode(fuse_req_t req, fuse_ino_t parent, int parent_fd, mode_t mode) {
  if (!kernel_leaves_umask_) return mode;
  const Inode& dir = inodes_.Get(parent);
  if (default_acls_.HasDefaultAcl(dir.dev, dir.ino, parent_fd)) return mode;
  return mode & ~fuse_req_ctx(req)->umask;
}

const fuse_lowlevel_ops& MirrorFs::Operations() {
  static const fuse_lowlevel_ops operations = [] {
    fuse_lowlevel_ops o{};
    o.init = ops::Init;
    o.lookup = ops::Lookup;
    o.forget = ops::Forget;
    o.forget_multi = ops::ForgetMulti;
    o.getattr = ops::Getattr;
    o.setattr = ops::Setattr;
    o.readlink = ops::Readlink;
    o.mknod = ops::Mknod;
    o.mkdir = ops::Mkdir;
    o.unlink = ops::Unlink;
    o.rmdir = ops::Rmdir;
    o.symlink = ops::Symlink;
    o.rename = ops::Rename;
    o.link = ops::Link;
    o.statfs = ops::Statfs;
    o.open = ops::Open;
    o.create = ops::Create;
    ops::AddDataOperations(o);
    o.opendir = ops::Opendir;
    o.readdir = ops::Readdir;
    o.releasedir = ops::Releasedir;
    o.fsyncdir = ops::Fsyncdir;
    o.setxattr = ops::Setxattr;
    o.getxattr = ops::Getxattr;
    o.listxattr = ops::Listxattr;
    o.removexattr = ops::Removexattr;
    // POSIX and flock locks are left to the kernel, which keeps them per mount
    // with full POSIX semantics between the processes using VIEW.
    return o;
  }();
  return operations;
}

namespace {

// The supplementary groups of the caller of `req`; empty when it is gone.
std::vector<gid_t> CallerGroups(fuse_req_t req) {
  std::vector<gid_t> groups(64);
  int count = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (count > static_cast<int>(groups.size())) {
    groups.resize(static_cast<size_t>(count));
    count = fuse_req_getgroups(req, count, groups.data());
  }
  groups.resize(static_cast<size_t>(std::clamp(count, 0, static_cast<int>(groups.size()))));
  return groups;
}

}  // namespace

bool CallerInGroup(fuse_req_t req, gid_t gid) {
  if (fuse_req_ctx(req)->gid == gid) return true;
  const std::vector<gid_t> groups = CallerGroups(req);
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

ChangeCaller CallerOf(fuse_req_t req) {
  return ChangeCaller{fuse_req_ctx(req)->uid, [req](gid_t gid) { return CallerInGroup(req, gid); }};
}

CallerCredentials::CallerCredentials(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  // A root caller still creates with its own group (sg, newgrp, setgid daemons).
  if (::geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0)) return;
  const std::vector<gid_t> groups = CallerGroups(req);  // none: primary group only
  // Raw syscalls: each affects only the calling thread (glibc's wrappers would
  // change every thread of the process).
  if (::syscall(SYS_setgroups, groups.size(), groups.data()) != 0) {
    error_ = errno;
    return;
  }
  ::syscall(SYS_setfsgid, ctx->gid);
  ::syscall(SYS_setfsuid, ctx->uid);
  switched_ = true;
}

CallerCredentials::~CallerCredentials() {
  if (!switched_) return;
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  ::syscall(SYS_setgroups, size_t{0}, nullptr);
}

namespace ops {

void NegotiateDataPath(fuse_conn_info* conn, const Options& options) {
  conn->max_write = kMaxWrite;
  // Asynchronous requests (O_DIRECT reads and writes of libaio or io_uring, as
  // qemu's cache=none makes them, and read-ahead) in flight at once: the
  // kernel's default of 12 would leave workers idle and hold a VM's queue depth
  // of 16 to 12 slow origin writes at a time.
  conn->max_background = std::max(options.max_threads, 12u);
  conn->congestion_threshold = conn->max_background * 3 / 4;
  // Splice measured slower here; the page cache path is the read lever.
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  // The writeback cache would delay origin writes until flush: never by default.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // The kernel would drop a file's page cache whenever origin's mtime differs
  // from its own idea of it, which the view's own writes make it do after
  // every write. The engine tells the view's changes from those behind the
  // mount, and has the kernel drop what changed behind it (DESIGN W6: at open,
  // and for files held open, its sweep every --revalidate seconds).
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
#ifdef FUSE_CAP_HANDLE_KILLPRIV_V2
  // Without it the kernel asks GETXATTR(security.capability) before every write
  // to decide what the write must clear: a round trip that costs more than the
  // write (docs/benchmarks.md). With it the filesystem clears, and does:
  // origin's own write clears security.capability, and the daemon clears the
  // setuid and setgid bits for callers other than root after every data change
  // (ChangeCaller; it cannot see a caller's CAP_FSETID).
  if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV_V2) conn->want |= FUSE_CAP_HANDLE_KILLPRIV_V2;
#endif
}

void Init(void* userdata, fuse_conn_info* conn) {
  MirrorFs& fs = static_cast<MirrorFs&>(*static_cast<ViewState*>(userdata));
  NegotiateDataPath(conn, fs.options());
  // With default_permissions the kernel checks access itself; it honours origin's
  // POSIX ACLs only with FUSE_CAP_POSIX_ACL (it then reads them as xattrs). It
  // also stops applying the umask where a parent's default ACL replaces it, so
  // the umask is left to CreationMode.
  if (fs.options().default_permissions && (conn->capable & FUSE_CAP_POSIX_ACL) &&
      (conn->capable & FUSE_CAP_DONT_MASK)) {
    conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
    fs.set_kernel_leaves_umask(true);
  }
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, [&] {
    MirrorFs& fs = MirrorFs::From(req);
    fuse_entry_param entry;
    const int error = fs.Lookup(parent, name, &entry);
    if (error == ENOENT) {
      // Negative entry: the kernel may cache the absence for entry_timeout.
      std::memset(&entry, 0, sizeof(entry));
      entry.entry_timeout = fs.options().entry_timeout;
      fuse_reply_entry(req, &entry);
      return 0;
    }
    if (error != 0) return error;
    fuse_reply_entry(req, &entry);
    return 0;
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  MirrorFs::From(req).inodes().Forget(ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  InodeTable& inodes = MirrorFs::From(req).inodes();
  for (size_t i = 0; i < count; ++i) inodes.Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

}  // namespace ops
}  // namespace wtcachefs
