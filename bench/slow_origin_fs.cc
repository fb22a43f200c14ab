// SPDX-License-Identifier: Apache-2.0
// slow_origin_fs: a FUSE pass-through that makes a directory look like slow storage.
//
//   slow_origin_fs BACKING MOUNTPOINT [-o latency_us=N,bandwidth=BYTES_PER_S,
//                                        meta_latency_us=N,page_cache,
//                                        coarse_timestamps] [fuse options]
//
// Every data request (read, write, fsync, fallocate) waits `latency_us` and its
// transfer time at `bandwidth` bytes per second before it is served from BACKING.
// The bandwidth is one shared link: transfers are serialized on it, while the
// latency of concurrent requests overlaps (a device with a deep queue). Namespace
// and attribute requests wait `meta_latency_us` (0 by default). Opens are
// direct_io unless `page_cache` is given, so the kernel never caches the slow
// storage's data above this layer and every read of it pays the delay. O_DIRECT is
// dropped when BACKING files are opened (FUSE payloads are not aligned).
// With `coarse_timestamps` every timestamp it reports is cut to whole seconds,
// as an SFTP server's are (sshfs), and FAT's and ext3's.
//
// It is a benchmark fixture, not a file system to keep data on: it serves what
// the benchmark workloads and the systems under test need (files, directories,
// links, fsync, fallocate), not xattrs or locks beyond the kernel's own.
//
// Threading: libfuse's multi-threaded loop calls every callback from any worker
// thread; the only shared state is `SharedLink`, guarded by its mutex.

#define FUSE_USE_VERSION 314

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace {

struct FixtureOptions {
  char* backing = nullptr;
  unsigned latency_us = 0;
  unsigned meta_latency_us = 0;
  unsigned long bandwidth = 0;  // bytes per second; 0: unlimited
  int page_cache = 0;
  int coarse_timestamps = 0;
};

#define FIXTURE_OPT(t, p) {t, offsetof(FixtureOptions, p), 1}
const struct fuse_opt kFixtureOpts[] = {
    FIXTURE_OPT("latency_us=%u", latency_us),
    FIXTURE_OPT("meta_latency_us=%u", meta_latency_us),
    FIXTURE_OPT("bandwidth=%lu", bandwidth),
    FIXTURE_OPT("page_cache", page_cache),
    FIXTURE_OPT("coarse_timestamps", coarse_timestamps),
    FUSE_OPT_END,
};

FixtureOptions g_options;  // filled once in main() before the loop starts

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SleepUntil(int64_t deadline_ns) {
  timespec ts{static_cast<time_t>(deadline_ns / 1000000000),
              static_cast<long>(deadline_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// The shared link: each transfer occupies it for bytes / bandwidth, after the
// transfers queued before it.
class SharedLink {
 public:
  // Returns when the request's latency and its turn on the link have passed.
  void Transfer(size_t bytes, unsigned latency_us) {
    int64_t start = NowNs();
    int64_t done = start;
    if (g_options.bandwidth != 0 && bytes != 0) {
      int64_t duration =
          static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / g_options.bandwidth);
      std::lock_guard<std::mutex> lock(mutex_);
      if (busy_until_ns_ < start) busy_until_ns_ = start;
      busy_until_ns_ += duration;
      done = busy_until_ns_;
    }
    done += int64_t{latency_us} * 1000;
    if (done > start) SleepUntil(done);
  }

 private:
  std::mutex mutex_;
  int64_t busy_until_ns_ = 0;  // guarded by mutex_
};

SharedLink g_link;

void DataDelay(size_t bytes) { g_link.Transfer(bytes, g_options.latency_us); }
void MetaDelay() {
  if (g_options.meta_latency_us != 0) g_link.Transfer(0, g_options.meta_latency_us);
}

std::string Backing(const char* path) { return std::string(g_options.backing) + path; }

int Errno(int rc) { return rc < 0 ? -errno : rc; }

void* Init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->entry_timeout = 1;
  cfg->attr_timeout = 1;
  cfg->negative_timeout = 0;
  cfg->kernel_cache = 0;
  cfg->direct_io = g_options.page_cache ? 0 : 1;
  conn->max_background = 128;
  conn->congestion_threshold = 96;
  conn->want &= ~FUSE_CAP_SPLICE_READ & ~FUSE_CAP_SPLICE_WRITE & ~FUSE_CAP_SPLICE_MOVE;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  MetaDelay();
  const int rc = fi != nullptr ? Errno(fstat(static_cast<int>(fi->fh), st))
                               : Errno(lstat(Backing(path).c_str(), st));
  if (rc == 0 && g_options.coarse_timestamps) {
    st->st_atim.tv_nsec = 0;
    st->st_mtim.tv_nsec = 0;
    st->st_ctim.tv_nsec = 0;
  }
  return rc;
}

int ReadLink(const char* path, char* buf, size_t size) {
  MetaDelay();
  ssize_t n = readlink(Backing(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int ReadDir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, struct fuse_file_info*,
            enum fuse_readdir_flags) {
  MetaDelay();
  DIR* dir = opendir(Backing(path).c_str());
  if (dir == nullptr) return -errno;
  while (struct dirent* entry = readdir(dir)) {
    struct stat st{};
    st.st_ino = entry->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(entry->d_type));
    if (filler(buf, entry->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  closedir(dir);
  return 0;
}

int MkNod(const char* path, mode_t mode, dev_t rdev) {
  MetaDelay();
  return Errno(mknod(Backing(path).c_str(), mode, rdev));
}
int MkDir(const char* path, mode_t mode) {
  MetaDelay();
  return Errno(mkdir(Backing(path).c_str(), mode));
}
int Unlink(const char* path) {
  MetaDelay();
  return Errno(unlink(Backing(path).c_str()));
}
int RmDir(const char* path) {
  MetaDelay();
  return Errno(rmdir(Backing(path).c_str()));
}
int SymLink(const char* target, const char* path) {
  MetaDelay();
  return Errno(symlink(target, Backing(path).c_str()));
}
int Rename(const char* from, const char* to, unsigned int flags) {
  MetaDelay();
  return Errno(renameat2(AT_FDCWD, Backing(from).c_str(), AT_FDCWD, Backing(to).c_str(), flags));
}
int Link(const char* from, const char* to) {
  MetaDelay();
  return Errno(link(Backing(from).c_str(), Backing(to).c_str()));
}
int ChMod(const char* path, mode_t mode, struct fuse_file_info* fi) {
  MetaDelay();
  if (fi != nullptr) return Errno(fchmod(static_cast<int>(fi->fh), mode));
  return Errno(chmod(Backing(path).c_str(), mode));
}
int ChOwn(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
  MetaDelay();
  if (fi != nullptr) return Errno(fchown(static_cast<int>(fi->fh), uid, gid));
  return Errno(lchown(Backing(path).c_str(), uid, gid));
}
int Truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  MetaDelay();
  if (fi != nullptr) return Errno(ftruncate(static_cast<int>(fi->fh), size));
  return Errno(truncate(Backing(path).c_str(), size));
}
int UTimens(const char* path, const struct timespec ts[2], struct fuse_file_info* fi) {
  MetaDelay();
  if (fi != nullptr) return Errno(futimens(static_cast<int>(fi->fh), ts));
  return Errno(utimensat(AT_FDCWD, Backing(path).c_str(), ts, AT_SYMLINK_NOFOLLOW));
}

int BackingFlags(int flags) { return (flags & ~O_DIRECT) | O_CLOEXEC; }

int Create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  MetaDelay();
  int fd = open(Backing(path).c_str(), BackingFlags(fi->flags), mode);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int Open(const char* path, struct fuse_file_info* fi) {
  MetaDelay();
  int fd = open(Backing(path).c_str(), BackingFlags(fi->flags));
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int Read(const char*, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  DataDelay(size);
  ssize_t n = pread(static_cast<int>(fi->fh), buf, size, offset);
  return n < 0 ? -errno : static_cast<int>(n);
}
int Write(const char*, const char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  DataDelay(size);
  ssize_t n = pwrite(static_cast<int>(fi->fh), buf, size, offset);
  return n < 0 ? -errno : static_cast<int>(n);
}
int StatFs(const char* path, struct statvfs* st) {
  MetaDelay();
  return Errno(statvfs(Backing(path).c_str(), st));
}
int Flush(const char*, struct fuse_file_info* fi) {
  // close(dup()) reports delayed write errors, as a close of the file would.
  int fd = dup(static_cast<int>(fi->fh));
  if (fd < 0) return -errno;
  return Errno(close(fd));
}
int Release(const char*, struct fuse_file_info* fi) {
  close(static_cast<int>(fi->fh));
  return 0;
}
int FSync(const char*, int datasync, struct fuse_file_info* fi) {
  DataDelay(0);
  int fd = static_cast<int>(fi->fh);
  return Errno(datasync ? fdatasync(fd) : fsync(fd));
}
int FAllocate(const char*, int mode, off_t offset, off_t length, struct fuse_file_info* fi) {
  DataDelay(0);
  return Errno(fallocate(static_cast<int>(fi->fh), mode, offset, length));
}
off_t LSeek(const char*, off_t offset, int whence, struct fuse_file_info* fi) {
  MetaDelay();
  off_t r = lseek(static_cast<int>(fi->fh), offset, whence);
  return r < 0 ? -errno : r;
}

struct fuse_operations MakeOperations() {
  struct fuse_operations ops{};
  ops.init = Init;
  ops.getattr = GetAttr;
  ops.readlink = ReadLink;
  ops.readdir = ReadDir;
  ops.mknod = MkNod;
  ops.mkdir = MkDir;
  ops.unlink = Unlink;
  ops.rmdir = RmDir;
  ops.symlink = SymLink;
  ops.rename = Rename;
  ops.link = Link;
  ops.chmod = ChMod;
  ops.chown = ChOwn;
  ops.truncate = Truncate;
  ops.utimens = UTimens;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = StatFs;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = FSync;
  ops.fallocate = FAllocate;
  ops.lseek = LSeek;
  return ops;
}

// The first non-option argument is BACKING; the rest go to libfuse.
int ProcessArg(void* data, const char* arg, int key, struct fuse_args*) {
  auto* options = static_cast<FixtureOptions*>(data);
  if (key == FUSE_OPT_KEY_NONOPT && options->backing == nullptr) {
    char* resolved = realpath(arg, nullptr);
    if (resolved == nullptr) {
      fprintf(stderr, "slow_origin_fs: %s: %s\n", arg, strerror(errno));
      exit(1);
    }
    options->backing = resolved;
    return 0;
  }
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  if (fuse_opt_parse(&args, &g_options, kFixtureOpts, ProcessArg) != 0) return 1;
  if (g_options.backing == nullptr) {
    fprintf(stderr,
            "usage: slow_origin_fs BACKING MOUNTPOINT "
            "[-o latency_us=N,bandwidth=BYTES_PER_S,meta_latency_us=N,page_cache,"
            "coarse_timestamps]\n");
    return 1;
  }
  struct fuse_cmdline_opts cmdline{};
  if (fuse_parse_cmdline(&args, &cmdline) != 0 || cmdline.mountpoint == nullptr) {
    fprintf(stderr, "slow_origin_fs: no mount point\n");
    return 1;
  }
  umask(0);
  struct fuse_operations ops = MakeOperations();
  struct fuse* fs = fuse_new(&args, &ops, sizeof(ops), nullptr);
  int rc = 1;
  if (fs != nullptr && fuse_mount(fs, cmdline.mountpoint) == 0) {
    if (fuse_daemonize(cmdline.foreground) == 0 &&
        fuse_set_signal_handlers(fuse_get_session(fs)) == 0) {
      // Every request of a deep queue sleeps in its own worker thread.
      struct fuse_loop_config* loop = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(loop, 512);
      fuse_loop_cfg_set_idle_threads(loop, 64);
      rc = fuse_loop_mt(fs, loop) == 0 ? 0 : 1;
      fuse_loop_cfg_destroy(loop);
      fuse_remove_signal_handlers(fuse_get_session(fs));
    }
    fuse_unmount(fs);
  }
  if (fs != nullptr) fuse_destroy(fs);
  free(cmdline.mountpoint);
  fuse_opt_free_args(&args);
  free(g_options.backing);
  return rc;
}
