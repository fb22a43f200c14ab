// SPDX-License-Identifier: Apache-2.0
// Options: everything a wtcachefs mount is configured with. The command line and
// `-o name=value` mount options only fill this struct; Validate() checks it.
//
// Thread safety: a plain value. After the mount starts it is read-only and may be
// read from any thread.
#pragma once

#include <string>
#include <vector>

#include "wtcachefs/policy.h"
#include "wtcachefs/status.h"
#include "wtcachefs/transport.h"

namespace wtcachefs {

// How much the daemon logs (to stderr in the foreground, to syslog when detached).
enum class LogLevel { kError, kWarning, kInfo, kDebug };

struct Options {
  // ORIGIN: the slow directory that VIEW mirrors, or in image mode the one image
  // file or block device that VIEW holds. Authoritative for all data.
  std::string origin;
  // Image mode: the name of the one file in VIEW (ORIGIN's base name as given);
  // empty when ORIGIN is a directory. Set by the mount path checks.
  std::string image_name;
  // Image mode: ORIGIN as named, its directory resolved but its own name kept
  // (a symlink such as /dev/vg0/disk stays itself). It identifies the cache's
  // origin across replaced image files and renumbered devices.
  std::string image_path;
  // CACHE: a directory on the fast device that holds the cache data and metadata.
  std::string cache;
  // Why CACHE cannot be used at all ("" when it can): it does not exist (its
  // file system may not be mounted) or its file system is read-only. Set by
  // the mount path checks; VIEW then serves ORIGIN uncached, degraded.
  std::string cache_unavailable;
  // VIEW: the mount point.
  std::string view;

  // Stay in the foreground instead of detaching (-f). Logs go to stderr.
  bool foreground = false;
  // Print every FUSE request (-d); implies foreground.
  bool debug = false;

  // Seconds the kernel may cache attributes / directory entries (-o attr_timeout=,
  // entry_timeout=). Longer is faster; shorter notices origin changes made behind
  // the mount sooner. Default 1 s.
  double attr_timeout = 1.0;
  double entry_timeout = 1.0;
  // Seconds after which a file held open through the view compares origin's
  // attributes with the cache's fingerprint again, on its next read (-o
  // revalidate=, --revalidate; DESIGN W6). 0: only at open and around the
  // view's own changes (close-to-open). Negative: unset, the attribute
  // timeout. A revalidation interval shorter than the attribute timeout
  // shortens the attribute timeout to it, so that the kernel's page cache is
  // revalidated as often (it asks for attributes before it reads from it).
  double revalidate = -1;
  // Seconds between steps of the sweep that finds files deleted behind the
  // mount that no lookup reaches again (-o sweep_interval=,
  // --sweep-interval; DESIGN W8); each step looks at 256 file records. 0:
  // no sweep (such files are then found only by a lookup of their name).
  double sweep_interval = 1.0;
  // The live miss-ratio curve (-o mrc=on|off, --mrc; `wtcachefs status
  // --mrc`): on costs up to 4 MiB of RAM and a hash per block access.
  bool miss_ratio_curve = true;
  // The revalidation interval in force (see revalidate).
  double RevalidateSeconds() const { return revalidate < 0 ? attr_timeout : revalidate; }

  // Cache block size in bytes for a new cache (-o block_size=, --block-size): a
  // power of two from 4 KiB to 4 MiB. 0: keep an existing cache's size, 64 KiB
  // for a new one. A size different from an existing cache's is an error.
  uint32_t block_size = 0;
  // Bytes of cache data (-o cache_size=, --cache-size), reserved at mount. 0:
  // a tenth of the cache filesystem's size for a new cache, elastic (taken
  // only while the filesystem keeps its free-space floor).
  uint64_t cache_size = 0;
  // Discard the cache in CACHE (another origin's, or an unusable one) and start
  // an empty one (-o reset_cache, --reset-cache). Loses no data: origin has it.
  bool reset_cache = false;

  // Which blocks leave a full cache (-o policy=, --policy): lru, 2q or arc.
  PolicyKind policy = kDefaultPolicy;
  // Promote a block into the cache on its Nth read miss (-o promote_after=,
  // --promote-after; Open CAS's nhit). 1: every miss.
  uint32_t promote_after = 1;
  // A sequential stream past this many bytes is not cached (-o
  // sequential_cutoff=, --sequential-cutoff; bcache's). 0: off. Default 4 MiB.
  uint64_t sequential_cutoff = 4 << 20;
  // Write misses get a slot (allocate) or go around the cache (-o
  // write_policy=allocate|around, --write-policy).
  bool write_allocate = true;
  // Diagnostic (-o serial_writethrough, --serial-writethrough): submit a write to
  // origin, wait for it, then submit it to the cache, as dm-cache did before it
  // submitted writethrough writes in parallel. Off by default; it exists so a
  // benchmark can show what the parallel submission buys. Still acknowledged
  // only after both complete.
  bool serial_writethrough = false;
  // The kernel's read-ahead window for the view (-o read_ahead=, --read-ahead):
  // FUSE's own 128 KiB makes sequential reads slow. 0 leaves the kernel's.
  uint64_t read_ahead = 4 << 20;

  // -o log_level=, --log-level: error, warning (default), info or debug.
  LogLevel log_level = LogLevel::kWarning;

  // Upper bound on FUSE worker threads (-o max_threads=). Default 16. Over
  // io_uring: the request pool's threads, and the ring's depth per CPU.
  unsigned max_threads = 16;

  // How requests travel between kernel and daemon (-o transport=, --transport;
  // wtcachefs/transport.h): auto (io_uring where the kernel offers it, else
  // /dev/fuse), io_uring (refuse to mount without it) or dev_fuse.
  TransportChoice transport = TransportChoice::kAuto;

  // The kernel checks permissions against the origin's mode and ownership (on by
  // default; -o no_default_permissions turns it off and leaves checks to origin).
  bool default_permissions = true;

  // Options handed to the kernel mount (allow_other, ro, nosuid, fsname=...).
  std::vector<std::string> kernel_options;  // raw "name" or "name=value"

  // Returns OK or an error naming the path or option at fault and what to do.
  Status Validate() const;
};

}  // namespace wtcachefs
