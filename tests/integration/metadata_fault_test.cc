// SPDX-License-Identifier: Apache-2.0
// Metadata faults on a real mount (DESIGN W2, W4; §3): the cache's RocksDB
// directory missing, truncated or corrupted, the slot file missing or
// truncated, and a SIGKILL while a tiny cache evicts all the time. After each,
// the next mount must come up, say in its log what it found and that it
// repaired or reset the cache, serve exactly origin's bytes (read past the page
// cache as well), and cache again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
constexpr size_t kBlock = 64 * kKiB;  // the default block size

struct TestFile {
  const char* name;
  size_t size;
  uint32_t seed;
};

// Sizes around the block size. "late" and "later" come to the cache after
// "big" has left it, into the slots it had.
constexpr TestFile kFiles[] = {
    {"small", 3 * 4096 + 17, 11},        // within one block
    {"one-block", kBlock, 12},           // exactly one
    {"several", 5 * kBlock + 1000, 13},  // several and a partial tail
    {"big", 2 * kMiB + 4097, 14},        // 33 blocks
    {"sub/nested", 700 * kKiB, 15},      // in a subdirectory
    {"late", 2 * kMiB + 333, 16},        // 33 blocks
    {"later", 2 * kMiB + 9000, 17},      // 33 blocks
};

uint64_t BlocksOf(size_t size) { return (size + kBlock - 1) / kBlock; }

uint64_t TotalBlocks() {
  uint64_t blocks = 0;
  for (const TestFile& f : kFiles) blocks += BlocksOf(f.size);
  return blocks;
}

uint64_t TotalBytes() {
  uint64_t bytes = 0;
  for (const TestFile& f : kFiles) bytes += f.size;
  return bytes;
}

// Which test file's original bytes `block` is (stale data from another file
// shows here), for failure messages.
std::string WhoseBlock(const std::string& block) {
  if (block.find_first_not_of('\0') == std::string::npos) return "is all zeros";
  for (const TestFile& f : kFiles) {
    const std::string data = Pattern(f.size, f.seed);
    for (size_t offset = 0; offset < data.size(); offset += kBlock) {
      if (data.compare(offset, block.size(), block) == 0) {
        return "is block " + std::to_string(offset / kBlock) + " of \"" + f.name + "\"";
      }
    }
  }
  return "is none of the test files' blocks";
}

// Where `got` first differs from `want`, for failure messages (never the bytes
// of a megabyte-sized file).
std::string Difference(const std::string& got, const std::string& want) {
  const size_t common = std::min(got.size(), want.size());
  size_t at = 0;
  while (at < common && got[at] == want[at]) ++at;
  std::ostringstream out;
  out << "view has " << got.size() << " bytes, origin " << want.size();
  if (at < common) {
    out << "; first difference at byte " << at << " (block " << at / kBlock << ", offset "
        << at % kBlock << " in it); the view's block there "
        << WhoseBlock(got.substr(at / kBlock * kBlock, kBlock));
  }
  return out.str();
}

// `wtcachefs status VIEW --line` as name -> value.
std::map<std::string, std::string> StatusFields(const std::string& view) {
  const CommandResult r = RunCommand({WtcachefsBinary(), "status", view, "--line"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> fields;
  std::istringstream in(r.out);
  std::string field;
  while (in >> field) {
    const size_t eq = field.find('=');
    if (eq != std::string::npos) fields[field.substr(0, eq)] = field.substr(eq + 1);
  }
  return fields;
}

std::string Mode(const std::map<std::string, std::string>& status) {
  const auto it = status.find("mode");
  return it == status.end() ? "(no mode in the status)" : it->second;
}

uint64_t Number(const std::map<std::string, std::string>& status, const std::string& name) {
  const auto it = status.find(name);
  if (it == status.end()) {
    ADD_FAILURE() << "status has no " << name;
    return 0;
  }
  return std::strtoull(it->second.c_str(), nullptr, 10);
}

// Files of a directory (not recursive) whose names satisfy `match`.
std::vector<std::string> FilesIn(const std::string& dir,
                                 const std::function<bool(const std::string&)>& match) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && match(entry.path().filename().string())) {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The file of `dir` with the highest number among names ending in `suffix`
// (RocksDB numbers its files in creation order).
std::string Newest(const std::string& dir, const std::string& suffix) {
  const auto files = FilesIn(dir, [&](const std::string& name) { return name.ends_with(suffix); });
  std::string newest;
  unsigned long best = 0;
  for (const std::string& path : files) {
    const unsigned long number = std::strtoul(fs::path(path).filename().c_str(), nullptr, 10);
    if (newest.empty() || number >= best) {
      newest = path;
      best = number;
    }
  }
  return newest;
}

uint64_t SizeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void TruncateTo(const std::string& path, uint64_t size) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0)
      << path << ": " << std::strerror(errno);
}

// Overwrites `length` bytes at `offset` of `path` with random bytes.
void Garble(const std::string& path, uint64_t offset, size_t length, uint32_t seed) {
  std::mt19937 random(seed);
  std::string garbage(length, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  EXPECT_EQ(::pwrite(fd, garbage.data(), length, static_cast<off_t>(offset)),
            static_cast<ssize_t>(length))
      << path;
  ::close(fd);
}

// A view whose cache holds every test file, cleanly unmounted after three
// mounts. The first cached the files; the second wrote through the view and
// dropped "big", whose slots "late" then took; the third dropped "late", whose
// slots (big's before) "later" took. So the metadata directory holds two table
// files (each mount's changes move there when the next mount opens the store)
// and a log (the third mount's), and a store rolled back to any earlier point
// names slots that now hold another file's data.
class MetadataFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mount_.ok()) << mount_.failure();
    ASSERT_EQ(::mkdir(mount_.OriginPath("sub").c_str(), 0755), 0);
    uint64_t blocks = 0;
    for (const TestFile& f : kFiles) {
      if (IsLate(f.name)) continue;
      WriteFile(mount_.OriginPath(f.name), Pattern(f.size, f.seed));
      ExpectViewEquals(f.name, Pattern(f.size, f.seed));  // each block missed and promoted
      blocks += BlocksOf(f.size);
    }
    ASSERT_EQ(Number(StatusFields(mount_.view()), "used_blocks"), blocks);
    ASSERT_TRUE(mount_.Unmount());

    ASSERT_TRUE(mount_.Remount()) << mount_.failure();
    const auto cold = StatusFields(mount_.view());
    ExpectViewEquals("several", Pattern(5 * kBlock + 1000, 13));
    ASSERT_GE(Number(StatusFields(mount_.view()), "bytes_read_from_cache"),
              Number(cold, "bytes_read_from_cache") + 5 * kBlock + 1000)
        << "the second mount is not warm";
    const int fd = ::open(mount_.ViewPath("several").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const std::string patch = Pattern(3 * 4096 + 5, 99);
    ASSERT_EQ(::pwrite(fd, patch.data(), patch.size(), kBlock + 777),
              static_cast<ssize_t>(patch.size()));
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
    ASSERT_NO_FATAL_FAILURE(HandOverSlots("big", "late"));
    ASSERT_TRUE(mount_.Unmount());

    ASSERT_TRUE(mount_.Remount()) << mount_.failure();
    ASSERT_NO_FATAL_FAILURE(HandOverSlots("late", "later"));
    ASSERT_EQ(Number(StatusFields(mount_.view()), "used_blocks"),
              TotalBlocks() - BlocksOf(2 * kMiB + 4097) - BlocksOf(2 * kMiB + 333));
    ASSERT_TRUE(mount_.Unmount());
    const auto tables =
        FilesIn(MetaDir(), [](const std::string& n) { return n.ends_with(".sst"); });
    ASSERT_EQ(tables.size(), 2u) << "RocksDB keeps its files otherwise than this test expects";
    ASSERT_FALSE(Newest(MetaDir(), ".log").empty());
  }

  static bool IsLate(const std::string& name) { return name.starts_with("late"); }

  // Drops the cached blocks of `dropped`, commits that (fsync through the view),
  // and reads `taker`, a new file of as many blocks, which gets the freed slots:
  // they are first in line once the drop is durable.
  void HandOverSlots(const std::string& dropped, const std::string& taker) {
    const CommandResult invalidated =
        RunCommand({WtcachefsBinary(), "invalidate", mount_.view(), mount_.ViewPath(dropped)});
    ASSERT_EQ(invalidated.exit_code, 0) << invalidated.err;
    const int fd = ::open(mount_.ViewPath("small").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
    for (const TestFile& f : kFiles) {
      if (f.name != taker) continue;
      WriteFile(mount_.OriginPath(taker), Pattern(f.size, f.seed));
      ExpectViewEquals(taker, Pattern(f.size, f.seed));
    }
  }

  std::string MetaDir() const { return mount_.cache() + "/meta"; }
  std::string SlotFile() const { return mount_.cache() + "/slots"; }

  // `name` read through the view, past the page cache and through it, equals `want`.
  void ExpectViewEquals(const std::string& name, const std::string& want) {
    const std::string direct = ReadFileDirect(mount_.ViewPath(name));
    EXPECT_TRUE(direct == want) << name << " (O_DIRECT): " << Difference(direct, want);
    const std::string buffered = ReadFile(mount_.ViewPath(name));
    EXPECT_TRUE(buffered == want) << name << ": " << Difference(buffered, want);
  }

  void ExpectViewEqualsOrigin() {
    for (const TestFile& f : kFiles) {
      ExpectViewEquals(f.name, ReadFile(mount_.OriginPath(f.name)));
    }
  }

  // Changes a file on origin while unmounted: same size, other bytes, so a cache
  // that trusted the wrong metadata would serve the old ones.
  void ChangeBehindTheCache(const std::string& name) {
    const std::string old = ReadFile(mount_.OriginPath(name));
    std::string changed = Pattern(old.size(), 1000 + static_cast<uint32_t>(old.size()));
    WriteFile(mount_.OriginPath(name), changed);
  }

  // The promise after a fault: the mount comes up, its log contains every
  // fragment of `warning`, every file reads as origin's, and the cache caches
  // again; a clean remount after that is warm and quiet.
  void RemountAndExpectRecovery(const std::vector<std::string>& warning) {
    ASSERT_TRUE(mount_.Remount()) << mount_.failure();
    const std::string log = mount_.DaemonLog();
    std::fprintf(stderr, "the daemon's log after the fault:\n%s", log.c_str());
    for (const std::string& fragment : warning) {
      EXPECT_NE(log.find(fragment), std::string::npos)
          << "the daemon's log does not say \"" << fragment << "\"; it says:\n"
          << log;
    }
    const auto before = StatusFields(mount_.view());
    EXPECT_EQ(Mode(before), "normal");
    EXPECT_LE(Number(before, "used_blocks"), TotalBlocks());
    ExpectViewEqualsOrigin();

    // Every block missed or hit the cache just now; either way it is cached.
    const auto read = StatusFields(mount_.view());
    EXPECT_EQ(Number(read, "used_blocks"), TotalBlocks());
    EXPECT_GT(Number(read, "promotions") + Number(read, "read_hits"),
              Number(before, "promotions") + Number(before, "read_hits"));
    // A file the cache has never seen is promoted, then served from the cache.
    WriteFile(mount_.OriginPath("fresh"), Pattern(640 * kKiB, 77));
    ExpectViewEquals("fresh", Pattern(640 * kKiB, 77));
    const auto promoted = StatusFields(mount_.view());
    EXPECT_EQ(Number(promoted, "promotions"), Number(read, "promotions") + 10);
    EXPECT_EQ(Number(promoted, "used_blocks"), TotalBlocks() + 10);
    ExpectViewEquals("fresh", Pattern(640 * kKiB, 77));
    const auto hit = StatusFields(mount_.view());
    EXPECT_GT(Number(hit, "read_hits"), Number(promoted, "read_hits"));
    EXPECT_EQ(Number(hit, "promotions"), Number(promoted, "promotions"));
    EXPECT_GE(Number(hit, "bytes_read_from_cache"),
              Number(promoted, "bytes_read_from_cache") + 640 * kKiB);
    EXPECT_EQ(Mode(hit), "normal");

    // The repaired cache is durable: the next mount is quiet about it and warm.
    ASSERT_TRUE(mount_.Unmount());
    ASSERT_TRUE(mount_.Remount()) << mount_.failure();
    for (const std::string& fragment : warning) {
      EXPECT_EQ(mount_.DaemonLog().find(fragment), std::string::npos)
          << "warned again after a clean unmount:\n"
          << mount_.DaemonLog();
    }
    const auto warm = StatusFields(mount_.view());
    ExpectViewEqualsOrigin();
    const auto after = StatusFields(mount_.view());
    EXPECT_EQ(Number(after, "promotions"), Number(warm, "promotions"));
    EXPECT_GE(Number(after, "bytes_read_from_cache"),
              Number(warm, "bytes_read_from_cache") + TotalBytes());
  }

  // What the log says when the metadata store is discarded (unreadable at
  // open, or a record that does not decode): it names the cache and says the
  // cache starts new and empty.
  std::vector<std::string> MetadataResetWarning() const {
    return {"cache metadata in '" + mount_.cache(), "new, empty cache"};
  }

  MountedView mount_;
};

// 1. The metadata directory is gone: the slot file's data belongs to nothing.
TEST_F(MetadataFaultTest, MissingMetadataDirectoryResetsTheCacheWithAWarning) {
  ASSERT_TRUE(fs::remove_all(MetaDir()) > 0);
  ChangeBehindTheCache("several");
  RemountAndExpectRecovery(MetadataResetWarning());
}

// 2. Every file of the metadata directory cut to half its size.
TEST_F(MetadataFaultTest, MetadataTruncatedToHalfResetsTheCacheWithAWarning) {
  for (const std::string& path : FilesIn(MetaDir(), [](const std::string&) { return true; })) {
    TruncateTo(path, SizeOf(path) / 2);
  }
  RemountAndExpectRecovery(MetadataResetWarning());
}

// 2a. One file cut short: the pointer to the manifest, the manifest, the newest
// table file, or the log. RocksDB 7.8 refuses to open the first three when cut
// in half, but reads a manifest cut past its first record as a shorter history
// (without the newest table file), and replays a cut log up to where it breaks
// off: either way the store comes back as it was before later drops were
// committed, naming slots that now hold another file's data.
struct DamagedFile {
  const char* label;
  std::function<std::string(const std::string& meta)> pick;
  // Truncated to this part of its size, or garbled there.
  double at;
};

void PrintTo(const DamagedFile& file, std::ostream* out) { *out << file.label; }

std::string DamagedFileName(const ::testing::TestParamInfo<DamagedFile>& file) {
  return file.param.label;
}

std::string Manifest(const std::string& meta) {
  const auto manifests =
      FilesIn(meta, [](const std::string& n) { return n.starts_with("MANIFEST-"); });
  return manifests.empty() ? std::string() : manifests.back();
}
std::string NewestTable(const std::string& meta) { return Newest(meta, ".sst"); }
std::string Log(const std::string& meta) { return Newest(meta, ".log"); }

class MetadataFaultTruncatedFile : public MetadataFaultTest,
                                   public ::testing::WithParamInterface<DamagedFile> {};

TEST_P(MetadataFaultTruncatedFile, ResetsTheCacheWithAWarningAndServesOrigin) {
  const std::string path = GetParam().pick(MetaDir());
  ASSERT_FALSE(path.empty()) << "no such file in " << MetaDir();
  const uint64_t size = SizeOf(path);
  const auto keep = static_cast<uint64_t>(static_cast<double>(size) * GetParam().at);
  SCOPED_TRACE("truncated " + path + " from " + std::to_string(size) + " to " +
               std::to_string(keep) + " bytes");
  TruncateTo(path, keep);
  RemountAndExpectRecovery(MetadataResetWarning());
}

INSTANTIATE_TEST_SUITE_P(
    OneFile, MetadataFaultTruncatedFile,
    ::testing::Values(DamagedFile{"Current",
                                  [](const std::string& meta) { return meta + "/CURRENT"; }, 0.5},
                      DamagedFile{"ManifestInHalf", Manifest, 0.5},
                      DamagedFile{"ManifestToThreeQuarters", Manifest, 0.75},
                      DamagedFile{"NewestTableInHalf", NewestTable, 0.5},
                      DamagedFile{"LogInHalf", Log, 0.5}, DamagedFile{"LogToAnEighth", Log, 0.125}),
    DamagedFileName);

// 3. Garbage in the middle of the table files and of the log. RocksDB's block
// checksums find it in a table file when the mount reads the records back; in
// the log, a record whose checksum fails ends the replay there (as a cut does).
TEST_F(MetadataFaultTest, CorruptedTableFilesResetTheCacheWithAWarning) {
  const auto tables = FilesIn(MetaDir(), [](const std::string& n) { return n.ends_with(".sst"); });
  ASSERT_FALSE(tables.empty());
  uint32_t seed = 1;
  for (const std::string& path : tables) {
    // The data blocks come first in a table file; its index and footer last.
    Garble(path, SizeOf(path) / 4, 64, seed++);
  }
  ChangeBehindTheCache("small");
  RemountAndExpectRecovery(MetadataResetWarning());
}

class MetadataFaultCorruptedLog : public MetadataFaultTest,
                                  public ::testing::WithParamInterface<DamagedFile> {};

TEST_P(MetadataFaultCorruptedLog, ResetsTheCacheWithAWarningAndServesOrigin) {
  const std::string path = GetParam().pick(MetaDir());
  ASSERT_FALSE(path.empty()) << "no log in " << MetaDir();
  const uint64_t size = SizeOf(path);
  ASSERT_GT(size, 1024u);
  const auto at = static_cast<uint64_t>(static_cast<double>(size) * GetParam().at);
  SCOPED_TRACE("garbled 64 bytes at " + std::to_string(at) + " of " + path + " (" +
               std::to_string(size) + " bytes)");
  Garble(path, at, 64, 7);
  ChangeBehindTheCache("several");
  RemountAndExpectRecovery(MetadataResetWarning());
}

INSTANTIATE_TEST_SUITE_P(Log, MetadataFaultCorruptedLog,
                         ::testing::Values(DamagedFile{"InTheMiddle", Log, 0.5},
                                           DamagedFile{"NearItsStart", Log, 0.125}),
                         DamagedFileName);

// 4. The slot file is gone: every block it held is lost.
TEST_F(MetadataFaultTest, MissingSlotFileDropsItsBlocksWithAWarning) {
  ASSERT_EQ(::unlink(SlotFile().c_str()), 0);
  RemountAndExpectRecovery(
      {"the cache slot file '" + SlotFile() + "' was missing", "dropped from the cache"});
}

// 5. The slot file cut short, in the middle of a block: the blocks past the cut
// (and the one it goes through) are lost; the ones before it are still good.
TEST_F(MetadataFaultTest, TruncatedSlotFileDropsTheBlocksItLostWithAWarning) {
  ASSERT_GT(SizeOf(SlotFile()), TotalBlocks() * kBlock);
  // Slots are handed out from the start of the file: this cuts through the used ones.
  TruncateTo(SlotFile(), (TotalBlocks() * 2 / 5) * kBlock + 12345);
  ChangeBehindTheCache("one-block");
  RemountAndExpectRecovery(
      {"the cache slot file '" + SlotFile() + "' was truncated", "dropped from the cache"});
}

// 6. SIGKILL while a cache of four blocks evicts on nearly every request, at
// random points; after each remount every file reads as origin's.
TEST(MetadataFaultUncleanShutdown, ViewEqualsOriginAfterSigkillsDuringEviction) {
  constexpr int kFileCount = 4;
  constexpr size_t kFileSize = 512 * kKiB + 100;
  constexpr int kKillPoints = 12;
  MountedView mount({"-o", "cache_size=256K", "--sequential-cutoff", "0"});
  ASSERT_TRUE(mount.ok()) << mount.failure();
  EXPECT_EQ(StatusCounter(mount.view(), "total_blocks"), 4u);
  auto name = [](int f) { return "f" + std::to_string(f); };
  for (int f = 0; f < kFileCount; ++f) {
    WriteFile(mount.OriginPath(name(f)), Pattern(kFileSize, static_cast<uint32_t>(f)));
  }
  unsigned seed = std::random_device()();
  if (const char* given = std::getenv("WTCACHEFS_TEST_SEED")) {
    seed = static_cast<unsigned>(std::strtoul(given, nullptr, 10));
  }
  std::fprintf(stderr, "seed %u (set WTCACHEFS_TEST_SEED to repeat)\n", seed);
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto verify = [&](const std::string& when) {
    for (int f = 0; f < kFileCount; ++f) {
      const std::string origin = ReadFile(mount.OriginPath(name(f)));
      ASSERT_EQ(origin.size(), kFileSize);
      const std::string direct = ReadFileDirect(mount.ViewPath(name(f)));
      ASSERT_TRUE(direct == origin)
          << when << ", " << name(f) << " (O_DIRECT): " << Difference(direct, origin);
      const std::string buffered = ReadFile(mount.ViewPath(name(f)));
      ASSERT_TRUE(buffered == origin)
          << when << ", " << name(f) << ": " << Difference(buffered, origin);
    }
  };
  // Two readers (O_DIRECT, so each read reaches the daemon and promotes) and two
  // writers with the odd fsync, over all files; stops at `stop` or when the
  // daemon is gone.
  auto load = [&](std::atomic<bool>& stop) {
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&, t, worker_seed = static_cast<unsigned>(rng())] {
        std::mt19937 local(worker_seed);
        const bool writer = t >= 2;
        void* buffer = nullptr;
        if (::posix_memalign(&buffer, 4096, 256 * kKiB) != 0) return;
        while (!stop) {
          const std::string path = mount.ViewPath(name(static_cast<int>(local() % kFileCount)));
          const int fd = ::open(path.c_str(), (writer ? O_RDWR : O_RDONLY | O_DIRECT) | O_CLOEXEC);
          if (fd < 0) break;  // the daemon is gone
          bool ok = true;
          for (int op = 0; op < 8 && ok && !stop; ++op) {
            if (writer) {
              const size_t length = 1 + local() % (96 * kKiB);
              const off_t offset = static_cast<off_t>(local() % (kFileSize - length));
              std::memset(buffer, static_cast<int>('a' + local() % 26), length);
              ok = ::pwrite(fd, buffer, length, offset) >= 0;
              if (ok && local() % 8 == 0) ok = ::fsync(fd) == 0;
            } else {
              const size_t length = 4096 * (1 + local() % 64);
              const off_t offset = static_cast<off_t>(4096 * (local() % (kFileSize / 4096)));
              ok = ::pread(fd, buffer, length, offset) >= 0;
            }
          }
          ::close(fd);
          if (!ok) break;
        }
        std::free(buffer);
      });
    }
    return workers;
  };
  for (int point = 0; point < kKillPoints; ++point) {
    SCOPED_TRACE("kill point " + std::to_string(point));
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers = load(stop);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 400));
    ASSERT_EQ(::kill(mount.daemon_pid(), SIGKILL), 0);
    stop = true;
    for (std::thread& w : workers) w.join();
    mount.Unmount();  // the connection is dead; this clears the mount point
    const CommandResult check =
        RunCommand({WtcachefsBinary(), "check", mount.cache()}, std::chrono::seconds(30));
    EXPECT_NE(check.out.find("not shut down cleanly"), std::string::npos)
        << "the cache does not record the unclean shutdown (exit " << check.exit_code
        << ", signal " << check.signal << (check.timed_out ? ", timed out" : "") << "):\n"
        << check.out << check.err;
    ASSERT_TRUE(mount.Remount()) << mount.failure();
    verify("after the kill");
    if (HasFatalFailure()) return;
    EXPECT_EQ(Mode(StatusFields(mount.view())), "normal");
  }
  // The load evicts, and a clean end leaves nothing to recover.
  const uint64_t demotions_before = StatusCounter(mount.view(), "demotions");
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers = load(stop);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (std::thread& w : workers) w.join();
  verify("after the load");
  EXPECT_GT(StatusCounter(mount.view(), "demotions"), demotions_before);
  EXPECT_LE(StatusCounter(mount.view(), "used_blocks"), 4u);
  ASSERT_TRUE(mount.Unmount());
  ASSERT_TRUE(mount.Remount()) << mount.failure();
  verify("after a clean remount");
}

}  // namespace
}  // namespace wtcachefs::testing
