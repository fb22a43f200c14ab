// SPDX-License-Identifier: Apache-2.0
// The crash soak's two kinds of mount, each an ORIGIN, CACHE and VIEW in a
// directory of its own, with the data its points warm and the writers they run.
//
// Directory mode: ORIGIN holds written/ (three files, each written through the
// view by a ViewWriter of its own), static/ (only read) and external/ (files
// that an OriginFilesWriter creates, changes and removes on origin behind the
// mount). The view never writes external/ and the origin writer touches
// nothing else, so every byte known to be on origin has one writer.
//
// Image mode: ORIGIN is one 64 MiB image file, four intent regions of 16 MiB:
//   [0, 16M)   changed on origin behind the mount (OriginRegionWriter), in
//              the points that share the image with an origin writer
//   [16M, 32M) written through the view (two ViewWriters, 8 MiB each)
//   [32M, 64M) only read
// A change behind the mount to a file the view is writing is the documented
// bound of wtcachefs (docs/architecture.md, "Consistency model" and "Warm
// after a crash": not seen while the view's own changes overlap it, and taken
// for the crashed daemon's own within the write lease). So no block of the
// origin writer's region is ever in the cache while that writer runs: the
// view never reads it while the writers run, and the cached blocks of the
// image are dropped after every check (which reads it all). Every check still
// compares the whole image, those bytes included, and the view's acknowledged
// writes must survive the changes made beside them in the same file. A change
// the daemon sees drops every cached block of the image, so little is cached
// when a point that shares the image is killed; in the other points the
// image is the view's alone, as a VM's disk is, and the origin writer changes
// a file beside ORIGIN instead (the same file system, not served by the
// view): those points measure how warm recovery keeps a written image.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crash_checks.h"
#include "crash_model.h"
#include "crash_rig.h"
#include "crash_writers.h"

namespace wtcachefs::crash_soak {

enum class Mode { kDirectory, kImage };
const char* ModeName(Mode mode);

// What the writers of one run did.
struct WriterTally {
  uint64_t writes_acknowledged = 0;
  uint64_t syncs_acknowledged = 0;
  uint64_t origin_changes = 0;             // to files the view serves
  std::optional<WriterError> first_error;  // the earliest of any writer's
};

// One mount and its data, driven by one thread.
class SoakTarget {
 public:
  virtual ~SoakTarget();
  SoakTarget(const SoakTarget&) = delete;
  SoakTarget& operator=(const SoakTarget&) = delete;

  Mode mode() const { return mode_; }
  DaemonMount& daemon() { return *daemon_; }
  const std::string& root() const { return root_; }
  const std::string& view() const { return view_; }

  // Fills ORIGIN, before the first mount. "" or what failed.
  virtual std::string Prepare(std::mt19937_64& random) = 0;
  // Reads what a point warms through the view, then has the daemon commit
  // its metadata (an fsync through the view), so that what the cache holds
  // at the kill was durable before the writers began. "" or what failed.
  virtual std::string Warm() = 0;
  // After a check read everything: what must not stay cached ("" or what failed).
  virtual std::string AfterCheck() { return {}; }

  // Starts the writers. `share_origin`: in image mode, the origin writer
  // changes the image itself, else a file beside it (in directory mode it
  // always changes its own files in the view).
  void StartWriters(uint64_t seed, bool share_origin);
  WriterTally StopWriters();
  // The view against origin, and every write known to be on origin (run with
  // the writers stopped).
  std::optional<Mismatch> Check() const;

 protected:
  // `root` exists; the target makes origin (or origin_dir), cache and view in it.
  SoakTarget(Mode mode, std::string root);
  // The daemon's command line is `binary ORIGIN CACHE VIEW -f` and `options`.
  void SetDaemon(const std::string& binary, const std::string& origin,
                 const std::vector<std::string>& options);
  // A range of `origin_file`, written through the view as `view_file`.
  void AddViewWriter(const std::string& view_file, const std::string& origin_file, uint64_t begin,
                     uint64_t end);
  // The origin writer of the points that share ORIGIN, and of the others
  // (null: the same).
  void SetOriginWriters(std::unique_ptr<LoopingWriter> sharing,
                        std::unique_ptr<LoopingWriter> beside);

  const Mode mode_;
  const std::string root_;
  const std::string origin_tree_;  // the directory compared with the view
  const std::string cache_;
  const std::string view_;

 private:
  struct Written {
    std::string origin_file;
    std::unique_ptr<WrittenBytes> bytes;
    std::unique_ptr<ViewWriter> writer;
  };
  std::unique_ptr<DaemonMount> daemon_;
  std::vector<Written> written_;
  std::unique_ptr<LoopingWriter> sharing_writer_;
  std::unique_ptr<LoopingWriter> beside_writer_;
  LoopingWriter* running_origin_writer_ = nullptr;
};

// The mount options every soak mount gets: a small reserved cache, no
// sequential cutoff (the warming reads are sequential), `policy`.
std::vector<std::string> SoakMountOptions(const std::string& policy);

std::unique_ptr<SoakTarget> MakeDirectoryTarget(const std::string& root, const std::string& binary,
                                                const std::vector<std::string>& options);
std::unique_ptr<SoakTarget> MakeImageTarget(const std::string& root, const std::string& binary,
                                            const std::vector<std::string>& options);

}  // namespace wtcachefs::crash_soak
