// SPDX-License-Identifier: Apache-2.0
#include "fuse/uring_operations.h"

#include <pthread.h>
#include <sys/stat.h>

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fuse/fuse_features.h"

namespace wtcachefs {
namespace {

// An argument of a request callback, kept until a pool thread runs it.
template <typename T>
struct Held {
  static_assert(!std::is_pointer_v<T> || std::is_same_v<T, const char*>,
                "a pointer argument whose lifetime is unknown: copy what it points to");
  explicit Held(T argument) : value(argument) {}
  T get() { return value; }
  T value;  // by value, or a name or payload in the ring entry
};
// Structures libfuse builds on the ring thread's stack for the callback.
template <typename S>
struct HeldCopy {
  explicit HeldCopy(S* source) {
    if (source != nullptr) copy = *source;
  }
  S* get() { return copy ? &*copy : nullptr; }
  std::optional<S> copy;
};
template <>
struct Held<fuse_file_info*> : HeldCopy<fuse_file_info> {
  using HeldCopy::HeldCopy;
};
template <>
struct Held<struct stat*> : HeldCopy<struct stat> {
  using HeldCopy::HeldCopy;
};

bool ArrivedOverUring(fuse_req_t req) {
#ifdef WTCACHEFS_FUSE_HAS_URING
  return fuse_req_is_uring(req);
#else
  (void)req;
  return false;
#endif
}

// libfuse ends a ring thread with a wake-up and then pthread_cancel(); a
// cancellation acted upon inside a handler (at its pwrite, say) would unwind
// through code that must not stop half way. The wake-up alone ends the thread.
void ShieldRingThreadFromCancellation() {
  thread_local const bool shielded = [] {
    int before = 0;
    return ::pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &before) == 0;
  }();
  (void)shielded;
}

}  // namespace

bool RequestsInFlight::Begin() {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  ++count_;
  return true;
}

void RequestsInFlight::End() {
  std::lock_guard lock(mutex_);
  if (--count_ == 0) ended_.notify_all();
}

void RequestsInFlight::CloseAndWait() {
  std::unique_lock lock(mutex_);
  closed_ = true;
  ended_.wait(lock, [this] { return count_ == 0; });
}

Transport TransportOf(fuse_req_t req) {
  return ArrivedOverUring(req) ? Transport::kIoUring : Transport::kDevFuse;
}

namespace {

template <auto Member, typename Callback>
struct Offload;
template <auto Member, typename... Args>
struct Offload<Member, void (*)(fuse_req_t, Args...)> {
  static void Call(fuse_req_t req, Args... args) {
    const UringOffload& offload = *ViewState::From(req).uring_offload();
    const auto callback = offload.inner.*Member;
    if (!ArrivedOverUring(req)) {
      callback(req, args...);
      return;
    }
    ShieldRingThreadFromCancellation();
    offload.pool->Post([callback, req, held = std::make_tuple(Held<Args>(args)...)]() mutable {
      std::apply([&](auto&... each) { callback(req, each.get()...); }, held);
    });
  }
};

// Writes are submitted by the ring thread when nothing makes it wait first;
// the IO's completion sends the reply.
void WriteInPlaceOrOffload(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
                           off_t off, fuse_file_info* fi) {
  const UringOffload& offload = *ViewState::From(req).uring_offload();
  if (ArrivedOverUring(req)) ShieldRingThreadFromCancellation();
  if (ArrivedOverUring(req) && offload.write_in_place != nullptr &&
      offload.write_in_place(req, ino, buf, size, off, fi, *offload.in_flight)) {
    return;
  }
  Offload<&fuse_lowlevel_ops::write, decltype(fuse_lowlevel_ops::write)>::Call(req, ino, buf,
                                                                              size, off, fi);
}

// Reads are served (hits) or submitted (misses) by the ring thread when
// nothing makes it wait first: handing them over costs more than that.
void ReadInPlaceOrOffload(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          fuse_file_info* fi) {
  const UringOffload& offload = *ViewState::From(req).uring_offload();
  if (ArrivedOverUring(req)) ShieldRingThreadFromCancellation();
  if (ArrivedOverUring(req) && offload.read_in_place != nullptr &&
      offload.read_in_place(req, ino, size, off, fi, *offload.in_flight)) {
    return;
  }
  Offload<&fuse_lowlevel_ops::read, decltype(fuse_lowlevel_ops::read)>::Call(req, ino, size, off,
                                                                            fi);
}

template <auto Member>
void OffloadIfSet(const fuse_lowlevel_ops& inner, fuse_lowlevel_ops& out) {
  if (inner.*Member == nullptr) return;
  using Callback = std::remove_cvref_t<decltype(inner.*Member)>;
  out.*Member = &Offload<Member, Callback>::Call;
}

}  // namespace

fuse_lowlevel_ops OffloadedOperations(const fuse_lowlevel_ops& inner) {
  fuse_lowlevel_ops out = inner;
  using O = fuse_lowlevel_ops;
  OffloadIfSet<&O::lookup>(inner, out);
  OffloadIfSet<&O::getattr>(inner, out);
  OffloadIfSet<&O::setattr>(inner, out);
  OffloadIfSet<&O::readlink>(inner, out);
  OffloadIfSet<&O::mknod>(inner, out);
  OffloadIfSet<&O::mkdir>(inner, out);
  OffloadIfSet<&O::unlink>(inner, out);
  OffloadIfSet<&O::rmdir>(inner, out);
  OffloadIfSet<&O::symlink>(inner, out);
  OffloadIfSet<&O::rename>(inner, out);
  OffloadIfSet<&O::link>(inner, out);
  OffloadIfSet<&O::open>(inner, out);
  if (inner.read != nullptr) out.read = ReadInPlaceOrOffload;
  if (inner.write != nullptr) out.write = WriteInPlaceOrOffload;
  OffloadIfSet<&O::flush>(inner, out);
  OffloadIfSet<&O::release>(inner, out);
  OffloadIfSet<&O::fsync>(inner, out);
  OffloadIfSet<&O::opendir>(inner, out);
  OffloadIfSet<&O::readdir>(inner, out);
  OffloadIfSet<&O::releasedir>(inner, out);
  OffloadIfSet<&O::fsyncdir>(inner, out);
  OffloadIfSet<&O::statfs>(inner, out);
  OffloadIfSet<&O::setxattr>(inner, out);
  OffloadIfSet<&O::getxattr>(inner, out);
  OffloadIfSet<&O::listxattr>(inner, out);
  OffloadIfSet<&O::removexattr>(inner, out);
  OffloadIfSet<&O::access>(inner, out);
  OffloadIfSet<&O::create>(inner, out);
  OffloadIfSet<&O::fallocate>(inner, out);
  OffloadIfSet<&O::readdirplus>(inner, out);
  OffloadIfSet<&O::copy_file_range>(inner, out);
  OffloadIfSet<&O::lseek>(inner, out);
  // Not offloaded (they are null in both views, or need a copy of more than a
  // structure): getlk, setlk, flock, bmap, ioctl, poll, write_buf,
  // retrieve_reply, tmpfile, statx.
  return out;
}

}  // namespace wtcachefs
