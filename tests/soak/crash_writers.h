// SPDX-License-Identifier: Apache-2.0
// The two kinds of writer a crash point runs while the daemon is killed: one
// through the view (ViewWriter, recording what it wrote in WrittenBytes) and
// one changing origin directly behind the mount (OriginFilesWriter in
// directory mode, OriginRegionWriter in image mode). Each runs one thread from
// Start() until Stop(), and keeps the first error it met with the time it
// returned, so that an error from before the kill (the daemon alive) is told
// from the errors the kill causes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "crash_model.h"

namespace wtcachefs::crash_soak {

using SteadyClock = std::chrono::steady_clock;

struct WriterError {
  std::string what;  // the call and its path, e.g. "pwrite VIEW/written/w1.bin at 4096"
  int error = 0;     // errno
  SteadyClock::time_point when;
};

// A thread that repeats Step() until stopped or a step fails. Start() and
// Stop() are called from one thread; the counters and error() are read only
// after Stop() returned.
class LoopingWriter {
 public:
  // A derived class stops the thread in its own destructor, while Step() exists.
  virtual ~LoopingWriter();
  // Starts the thread with its own random sequence `seed`.
  void Start(uint64_t seed);
  // Asks the thread to stop after its current step and joins it.
  void Stop();
  const std::optional<WriterError>& error() const { return error_; }
  // Steps completed since Start().
  uint64_t steps() const { return steps_; }

 protected:
  // One operation; false after recording a failure with Fail().
  virtual bool Step(std::mt19937_64& random) = 0;
  // Called on the thread before the first step and after the last.
  virtual bool Open() { return true; }
  virtual void Close() {}
  bool Fail(std::string what, int error);

 private:
  void Run(uint64_t seed);

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::optional<WriterError> error_;
  uint64_t steps_ = 0;
};

// Writes a range of one file through the view: pwrite at random offsets,
// buffered (any offset and length) and O_DIRECT (512-byte or 4 KiB aligned),
// and now and then fsync or fdatasync. It alone writes `bytes`' range.
class ViewWriter : public LoopingWriter {
 public:
  ViewWriter(std::string view_file, WrittenBytes* bytes);
  ~ViewWriter() override;
  uint64_t writes_acknowledged() const { return writes_acknowledged_; }
  uint64_t syncs_acknowledged() const { return syncs_acknowledged_; }

 protected:
  bool Open() override;
  void Close() override;
  bool Step(std::mt19937_64& random) override;

 private:
  bool WriteBuffered(std::mt19937_64& random);
  bool WriteDirect(std::mt19937_64& random);
  bool Sync(std::mt19937_64& random);
  // pwrite(fd, data, length, offset) recorded in bytes_; false on failure.
  bool WriteRecorded(int fd, const char* data, size_t length, uint64_t offset, const char* kind);

  const std::string view_file_;
  WrittenBytes* const bytes_;
  int buffered_fd_ = -1;
  int direct_fd_ = -1;
  char* buffer_ = nullptr;  // aligned for O_DIRECT, kMaxWrite bytes
  uint64_t writes_acknowledged_ = 0;
  uint64_t syncs_acknowledged_ = 0;
};

// Changes files of its own in an origin directory behind the mount: creates,
// overwrites in place, appends, truncates, rewrites, replaces by rename and
// removes them (at most `file_count` names, each at most 2 MiB).
class OriginFilesWriter : public LoopingWriter {
 public:
  OriginFilesWriter(std::string origin_dir, int file_count);
  ~OriginFilesWriter() override;

 protected:
  bool Step(std::mt19937_64& random) override;

 private:
  std::string NameFor(int index) const;
  const std::string dir_;
  const int file_count_;
};

// Changes bytes [begin, end) of an image file on origin behind the mount:
// pwrite, and now and then a punched hole.
class OriginRegionWriter : public LoopingWriter {
 public:
  OriginRegionWriter(std::string image, uint64_t begin, uint64_t end);
  ~OriginRegionWriter() override;

 protected:
  bool Open() override;
  void Close() override;
  bool Step(std::mt19937_64& random) override;

 private:
  const std::string image_;
  const uint64_t begin_, end_;
  int fd_ = -1;
};

// `length` bytes from `random`, for write payloads.
void FillRandom(std::mt19937_64& random, char* data, size_t length);

}  // namespace wtcachefs::crash_soak
