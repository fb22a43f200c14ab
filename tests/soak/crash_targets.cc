// SPDX-License-Identifier: Apache-2.0
#include "crash_targets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wtcachefs::crash_soak {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kRegion = 16 * kMiB;  // an intent region at the default 64 KiB blocks
constexpr uint64_t kImageSize = 4 * kRegion;
constexpr int kOriginFiles = 6;

std::string ErrnoText(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

// A new file `path` of `size` random bytes. "" or what failed.
std::string CreateRandomFile(const std::string& path, uint64_t size, std::mt19937_64& random) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoText("cannot create " + path, errno);
  std::string chunk(kMiB, '\0');
  uint64_t done = 0;
  while (done < size) {
    const size_t length = size - done < kMiB ? static_cast<size_t>(size - done) : kMiB;
    FillRandom(random, chunk.data(), length);
    if (::pwrite(fd, chunk.data(), length, static_cast<off_t>(done)) !=
        static_cast<ssize_t>(length)) {
      const int error = errno;
      ::close(fd);
      return ErrnoText("cannot write " + path, error);
    }
    done += length;
  }
  ::close(fd);
  return {};
}

// An fsync through the view: the daemon commits every mapping it holds.
std::string CommitThrough(const std::string& view_file) {
  const int fd = ::open(view_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoText("cannot open " + view_file, errno);
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  return result == 0 ? std::string() : ErrnoText("fsync " + view_file, error);
}

class DirectoryTarget : public SoakTarget {
 public:
  DirectoryTarget(const std::string& root, const std::string& binary,
                  const std::vector<std::string>& options)
      : SoakTarget(Mode::kDirectory, root) {
    SetDaemon(binary, origin_tree_, options);
    for (size_t i = 0; i < std::size(kWrittenSizes); ++i) {
      const std::string name = "written/w" + std::to_string(i) + ".bin";
      AddViewWriter(view_ + "/" + name, origin_tree_ + "/" + name, 0, kWrittenSizes[i]);
    }
    SetOriginWriters(std::make_unique<OriginFilesWriter>(origin_tree_ + "/external", kOriginFiles),
                     nullptr);
  }

  std::string Prepare(std::mt19937_64& random) override {
    for (const char* dir : {"written", "static", "external"}) {
      const std::string path = origin_tree_ + "/" + dir;
      if (::mkdir(path.c_str(), 0755) != 0) return ErrnoText("cannot create " + path, errno);
    }
    for (size_t i = 0; i < std::size(kWrittenSizes); ++i) {
      const std::string path = origin_tree_ + "/written/w" + std::to_string(i) + ".bin";
      if (std::string f = CreateRandomFile(path, kWrittenSizes[i], random); !f.empty()) return f;
    }
    if (std::string f = CreateRandomFile(origin_tree_ + "/static/s0.bin", 4 * kMiB, random);
        !f.empty()) {
      return f;
    }
    if (std::string f = CreateRandomFile(origin_tree_ + "/static/s1.bin", 100'007, random);
        !f.empty()) {
      return f;
    }
    for (int i = 0; i < kOriginFiles; i += 2) {
      const std::string path = origin_tree_ + "/external/e" + std::to_string(i);
      if (std::string f = CreateRandomFile(path, random() % (2 * kMiB), random); !f.empty()) {
        return f;
      }
    }
    return {};
  }

  std::string Warm() override {
    std::vector<std::string> files;
    if (const int error = ListFiles(view_, &files)) return ErrnoText("cannot list " + view_, error);
    for (const std::string& file : files) {
      const std::string path = view_ + "/" + file;
      if (const int error = ReadRange(path, true, 0, UINT64_MAX, nullptr)) {
        return ErrnoText("cannot read " + path + " with O_DIRECT", error);
      }
    }
    return CommitThrough(view_ + "/static/s0.bin");
  }

 private:
  // Sizes that end on a page, inside one and on an odd byte.
  static constexpr uint64_t kWrittenSizes[] = {kMiB, 2 * kMiB + 12 * 1024, 3 * kMiB + 1234};
};

class ImageTarget : public SoakTarget {
 public:
  ImageTarget(const std::string& root, const std::string& binary,
              const std::vector<std::string>& options)
      : SoakTarget(Mode::kImage, root),
        image_(origin_tree_ + "/disk.img"),
        view_image_(view_ + "/disk.img"),
        beside_(root_ + "/beside.img") {
    SetDaemon(binary, image_, options);
    AddViewWriter(view_image_, image_, kRegion, kRegion + kRegion / 2);
    AddViewWriter(view_image_, image_, kRegion + kRegion / 2, 2 * kRegion);
    SetOriginWriters(std::make_unique<OriginRegionWriter>(image_, 0, kRegion),
                     std::make_unique<OriginRegionWriter>(beside_, 0, kRegion));
  }

  std::string Prepare(std::mt19937_64& random) override {
    if (std::string f = CreateRandomFile(beside_, kRegion, random); !f.empty()) return f;
    return CreateRandomFile(image_, kImageSize, random);
  }

  std::string Warm() override {
    if (const int error = ReadRange(view_image_, true, kRegion, kImageSize, nullptr)) {
      return ErrnoText("cannot read " + view_image_ + " with O_DIRECT", error);
    }
    return CommitThrough(view_image_);
  }

  std::string AfterCheck() override {
    const int error = InvalidateCachedFile(view_image_);
    return error == 0 ? std::string() : ErrnoText("wtcachefs invalidate " + view_image_, error);
  }

 private:
  const std::string image_;
  const std::string view_image_;
  const std::string beside_;  // on ORIGIN's file system, not served by the view
};

}  // namespace

const char* ModeName(Mode mode) { return mode == Mode::kDirectory ? "directory" : "image"; }

SoakTarget::SoakTarget(Mode mode, std::string root)
    : mode_(mode),
      root_(std::move(root)),
      origin_tree_(root_ + "/origin"),
      cache_(root_ + "/cache"),
      view_(root_ + "/view") {
  for (const std::string& dir : {origin_tree_, cache_, view_}) ::mkdir(dir.c_str(), 0755);
}

SoakTarget::~SoakTarget() {
  (void)StopWriters();
  daemon_.reset();  // unmounts before the writers' ranges go
}

void SoakTarget::SetDaemon(const std::string& binary, const std::string& origin,
                           const std::vector<std::string>& options) {
  std::vector<std::string> argv = {binary, origin, cache_, view_, "-f"};
  argv.insert(argv.end(), options.begin(), options.end());
  daemon_ = std::make_unique<DaemonMount>(std::move(argv), view_, root_ + "/daemon.log");
}

void SoakTarget::AddViewWriter(const std::string& view_file, const std::string& origin_file,
                               uint64_t begin, uint64_t end) {
  Written written;
  written.origin_file = origin_file;
  written.bytes = std::make_unique<WrittenBytes>(begin, end);
  written.writer = std::make_unique<ViewWriter>(view_file, written.bytes.get());
  written_.push_back(std::move(written));
}

void SoakTarget::SetOriginWriters(std::unique_ptr<LoopingWriter> sharing,
                                  std::unique_ptr<LoopingWriter> beside) {
  sharing_writer_ = std::move(sharing);
  beside_writer_ = std::move(beside);
}

void SoakTarget::StartWriters(uint64_t seed, bool share_origin) {
  std::mt19937_64 seeds(seed);
  for (Written& w : written_) w.writer->Start(seeds());
  running_origin_writer_ =
      share_origin || !beside_writer_ ? sharing_writer_.get() : beside_writer_.get();
  running_origin_writer_->Start(seeds());
}

WriterTally SoakTarget::StopWriters() {
  WriterTally tally;
  auto note_error = [&tally](const LoopingWriter& writer) {
    if (writer.error() && (!tally.first_error || writer.error()->when < tally.first_error->when)) {
      tally.first_error = writer.error();
    }
  };
  for (Written& w : written_) {
    w.writer->Stop();
    tally.writes_acknowledged += w.writer->writes_acknowledged();
    tally.syncs_acknowledged += w.writer->syncs_acknowledged();
    note_error(*w.writer);
  }
  if (running_origin_writer_ != nullptr) {
    running_origin_writer_->Stop();
    if (running_origin_writer_ == sharing_writer_.get()) {
      tally.origin_changes += running_origin_writer_->steps();
    }
    note_error(*running_origin_writer_);
    running_origin_writer_ = nullptr;
  }
  return tally;
}

std::optional<Mismatch> SoakTarget::Check() const {
  if (auto mismatch = CompareTrees(view_, origin_tree_)) return mismatch;
  for (const Written& w : written_) {
    if (auto mismatch = FindLostWrite(w.origin_file, *w.bytes)) return mismatch;
  }
  return std::nullopt;
}

std::vector<std::string> SoakMountOptions(const std::string& policy) {
  return {"--cache-size", "64M", "--sequential-cutoff", "0", "--policy", policy};
}

std::unique_ptr<SoakTarget> MakeDirectoryTarget(const std::string& root, const std::string& binary,
                                                const std::vector<std::string>& options) {
  return std::make_unique<DirectoryTarget>(root, binary, options);
}

std::unique_ptr<SoakTarget> MakeImageTarget(const std::string& root, const std::string& binary,
                                            const std::vector<std::string>& options) {
  return std::make_unique<ImageTarget>(root, binary, options);
}

}  // namespace wtcachefs::crash_soak
