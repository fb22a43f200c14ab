// Model-based random test: random sequences of namespace and data operations
// are applied to VIEW and, identically, to a reference directory on plain disk.
// After every step the results (return value, errno, bytes read) and the state
// of the touched paths must match; every 200 steps and at the end the whole
// trees are compared, and at the end ORIGIN must equal the reference too.
//
// Environment:
//   WTCACHEFS_MODEL_SEED  replay a failing run (the seed is printed on failure)
//   WTCACHEFS_MODEL_OPS   operations per run (default 10,000; raise for a long run)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>

#include "integration/tree_compare.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr int kSlots = 6;

struct Outcome {
  long result;
  int error;
  std::string data;  // bytes read, link targets, xattr values
  bool operator==(const Outcome&) const = default;
};

std::string Show(const Outcome& o) {
  std::ostringstream s;
  s << "result " << o.result << " errno " << o.error << " (" << std::strerror(o.error) << ")";
  if (!o.data.empty()) s << " data[" << o.data.size() << "]";
  return s.str();
}

template <typename F>
Outcome Run(F&& f) {
  errno = 0;
  Outcome o{static_cast<long>(f()), 0, {}};
  o.error = o.result < 0 ? errno : 0;
  if (o.result >= 0) o.result = o.result > 0 ? 1 : 0;  // fds and counts differ in value only
  return o;
}

// One side of the comparison: a root directory and its open files.
struct Side {
  std::string root;
  std::array<int, kSlots> fds;
  std::string Path(const std::string& rel) const { return rel.empty() ? root : root + "/" + rel; }
};

class RandomModel {
 public:
  RandomModel(uint64_t seed, Side view, Side reference)
      : rng_(seed), sides_{std::move(view), std::move(reference)} {
    for (Side& side : sides_) side.fds.fill(-1);
  }
  ~RandomModel() {
    for (Side& side : sides_) {
      for (int fd : side.fds) {
        if (fd >= 0) ::close(fd);
      }
    }
  }

  // Performs one random operation on both sides; returns "" or the mismatch.
  std::string Step() {
    const std::string a = RandomPath(), b = RandomPath();
    const int slot = static_cast<int>(rng_() % kSlots);
    const uint64_t offset = rng_() % (96 * 1024);
    const size_t length = 1 + rng_() % 9000;
    const char fill = static_cast<char>('a' + rng_() % 26);
    const unsigned pick = rng_() % 22;
    std::string name;
    std::array<Outcome, 2> out;
    for (int s = 0; s < 2; ++s) {
      Side& side = sides_[s];
      const std::string pa = side.Path(a), pb = side.Path(b);
      int& fd = side.fds[slot];
      switch (pick) {
        case 0:
        case 1: {
          static constexpr std::array<int, 6> kFlags = {
              O_RDONLY, O_WRONLY | O_CREAT, O_RDWR | O_CREAT, O_RDWR | O_CREAT | O_TRUNC,
              O_WRONLY | O_CREAT | O_APPEND, O_RDWR | O_CREAT | O_EXCL};
          const int flags = kFlags[(offset + length) % kFlags.size()];
          name = "open " + a + " flags " + std::to_string(flags);
          if (fd >= 0) ::close(fd);
          fd = ::open(pa.c_str(), flags, 0640);
          out[s] = Outcome{fd >= 0 ? 1 : -1, fd >= 0 ? 0 : errno, {}};
          break;
        }
        case 2:
        case 3: {
          name = "pwrite slot " + std::to_string(slot) + " at " + std::to_string(offset);
          const std::string data(length, fill);
          out[s] = Run([&] { return ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)); });
          break;
        }
        case 4: {
          name = "write slot " + std::to_string(slot);
          const std::string data(length, fill);
          out[s] = Run([&] { return ::write(fd, data.data(), data.size()); });
          break;
        }
        case 5:
        case 6: {
          name = "pread slot " + std::to_string(slot) + " at " + std::to_string(offset);
          std::string buffer(length, '\0');
          const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
          out[s] = Outcome{n < 0 ? -1 : 1, n < 0 ? errno : 0,
                           n > 0 ? buffer.substr(0, static_cast<size_t>(n)) : ""};
          break;
        }
        case 7:
          name = "ftruncate slot " + std::to_string(slot) + " to " + std::to_string(offset);
          out[s] = Run([&] { return ::ftruncate(fd, static_cast<off_t>(offset)); });
          break;
        case 8:
          name = "truncate " + a + " to " + std::to_string(offset / 7);
          out[s] = Run([&] { return ::truncate(pa.c_str(), static_cast<off_t>(offset / 7)); });
          break;
        case 9:
          name = "close slot " + std::to_string(slot);
          out[s] = Run([&] {
            const int rc = fd >= 0 ? ::close(fd) : 0;
            fd = -1;
            return rc;
          });
          break;
        case 10:
          name = "fsync slot " + std::to_string(slot);
          out[s] = Run([&] { return ::fsync(fd); });
          break;
        case 11:
          name = "mkdir " + a;
          out[s] = Run([&] { return ::mkdir(pa.c_str(), 0750); });
          break;
        case 12:
          name = "rmdir " + a;
          out[s] = Run([&] { return ::rmdir(pa.c_str()); });
          break;
        case 13:
          name = "unlink " + a;
          out[s] = Run([&] { return ::unlink(pa.c_str()); });
          break;
        case 14: {
          static constexpr std::array<unsigned, 3> kRenameFlags = {0, RENAME_NOREPLACE,
                                                                   RENAME_EXCHANGE};
          const unsigned flags = kRenameFlags[offset % 3];
          name = "rename " + a + " " + b + " flags " + std::to_string(flags);
          out[s] = Run([&] { return ::renameat2(AT_FDCWD, pa.c_str(), AT_FDCWD, pb.c_str(), flags); });
          break;
        }
        case 15:
          name = "link " + a + " " + b;
          out[s] = Run([&] { return ::link(pa.c_str(), pb.c_str()); });
          break;
        case 16:
          name = "symlink " + b + " -> " + a;
          out[s] = Run([&] { return ::symlink(a.c_str(), pb.c_str()); });
          break;
        case 17: {
          name = "chmod " + a;
          out[s] = Run([&] { return ::chmod(pa.c_str(), static_cast<mode_t>(0400 | (offset & 0377))); });
          break;
        }
        case 18: {
          name = "utimensat " + a;
          const struct timespec times[2] = {{1'600'000'000 + static_cast<long>(offset), 5},
                                            {1'600'000'000 + static_cast<long>(length), 777'777'777}};
          out[s] = Run([&] { return ::utimensat(AT_FDCWD, pa.c_str(), times, AT_SYMLINK_NOFOLLOW); });
          if (out[s].result >= 0) {
            struct stat st;
            ::lstat(pa.c_str(), &st);
            out[s].data = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
          }
          break;
        }
        case 19: {
          const std::string attr = "user.k" + std::to_string(offset % 3);
          switch (length % 3) {
            case 0:
              name = "setxattr " + a + " " + attr;
              out[s] = Run([&] { return ::setxattr(pa.c_str(), attr.c_str(), &fill, 1, 0); });
              break;
            case 1: {
              name = "getxattr " + a + " " + attr;
              char value[16];
              const ssize_t n = ::getxattr(pa.c_str(), attr.c_str(), value, sizeof(value));
              out[s] = Outcome{n < 0 ? -1 : 1, n < 0 ? errno : 0,
                               n > 0 ? std::string(value, static_cast<size_t>(n)) : ""};
              break;
            }
            default:
              name = "removexattr " + a + " " + attr;
              out[s] = Run([&] { return ::removexattr(pa.c_str(), attr.c_str()); });
          }
          break;
        }
        case 20:
          name = "punch hole slot " + std::to_string(slot);
          out[s] = Run([&] {
            return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               static_cast<off_t>(offset), static_cast<off_t>(length));
          });
          break;
        default: {
          name = "readlink " + a;
          char target[256];
          const ssize_t n = ::readlink(pa.c_str(), target, sizeof(target));
          out[s] = Outcome{n < 0 ? -1 : 1, n < 0 ? errno : 0,
                           n > 0 ? std::string(target, static_cast<size_t>(n)) : ""};
        }
      }
    }
    history_.push_back(name);
    if (history_.size() > 20) history_.pop_front();
    if (!(out[0] == out[1])) {
      return name + ": view " + Show(out[0]) + ", reference " + Show(out[1]) +
             (out[0].data != out[1].data ? " (data differs)" : "");
    }
    for (const std::string& touched : {a, b}) {
      std::string diff = CompareEntries(sides_[0].Path(touched), sides_[1].Path(touched), false);
      if (!diff.empty()) return name + ": " + diff;
    }
    return "";
  }

  std::string CompareAll() const { return CompareEntries(sides_[0].root, sides_[1].root, true); }
  std::string History() const {
    std::string all;
    for (const std::string& step : history_) all += "  " + step + "\n";
    return all;
  }

 private:
  std::string RandomPath() {
    static constexpr std::array<const char*, 4> kDirs = {"", "d1/", "d1/d2/", "d3/"};
    static constexpr std::array<const char*, 5> kNames = {"a", "b", "c", "d1", "d3"};
    return std::string(kDirs[rng_() % kDirs.size()]) + kNames[rng_() % kNames.size()];
  }

  std::mt19937_64 rng_;
  std::array<Side, 2> sides_;
  std::deque<std::string> history_;
};

uint64_t SeedFromEnvironment() {
  if (const char* seed = std::getenv("WTCACHEFS_MODEL_SEED")) return std::strtoull(seed, nullptr, 10);
  return std::random_device()() * 0x100000001ull + std::random_device()();
}

int OperationsFromEnvironment() {
  if (const char* ops = std::getenv("WTCACHEFS_MODEL_OPS")) return std::atoi(ops);
  return 10000;
}

TEST(RandomModel, ViewMatchesAPlainDirectoryUnderRandomOperations) {
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string reference = mount.dir().Sub("reference");
  const uint64_t seed = SeedFromEnvironment();
  const int operations = OperationsFromEnvironment();
  RandomModel model(seed, Side{mount.view(), {}}, Side{reference, {}});
  for (int step = 0; step < operations; ++step) {
    std::string diff = model.Step();
    if (diff.empty() && (step % 200 == 199 || step == operations - 1)) diff = model.CompareAll();
    ASSERT_TRUE(diff.empty()) << "WTCACHEFS_MODEL_SEED=" << seed << " step " << step << ": "
                              << diff << "\nlast operations:\n"
                              << model.History() << "daemon log:\n"
                              << mount.DaemonLog();
  }
  // Everything done through VIEW is on origin.
  const std::string origin_diff = CompareEntries(mount.origin(), reference, true);
  EXPECT_TRUE(origin_diff.empty()) << "WTCACHEFS_MODEL_SEED=" << seed << ": " << origin_diff;
}

TEST(RandomModel, ComparatorReportsAChangeMadeBehindTheView) {
  // The comparison above must be able to fail: change origin behind the view.
  MountedView mount;
  ASSERT_TRUE(mount.ok()) << mount.failure();
  const std::string reference = mount.dir().Sub("reference");
  WriteFile(mount.ViewPath("f"), "same bytes");
  WriteFile(reference + "/f", "same bytes");
  ASSERT_EQ(CompareEntries(mount.view(), reference, true), "");
  WriteFile(mount.OriginPath("f"), "SAME BYTES");
  EXPECT_NE(CompareEntries(mount.view(), reference, true), "");
  ASSERT_EQ(::chmod(mount.OriginPath("f").c_str(), 0600), 0);
  WriteFile(reference + "/f", "SAME BYTES");
  ::sleep(2);  // past the attribute timeout
  EXPECT_NE(CompareEntries(mount.view(), reference, true).find("mode"), std::string::npos);
}

}  // namespace
}  // namespace wtcachefs::testing
