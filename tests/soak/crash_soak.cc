// SPDX-License-Identifier: Apache-2.0
// wtcachefs_crash_soak: the long crash soak (scripts/crash-soak.sh runs it to
// 10,000 points; not part of CI). Each point kills the daemon with SIGKILL
// while a writer works through the view and another changes origin behind
// the mount, remounts the same ORIGIN and CACHE and checks that every file
// read through the view equals origin and that every write acknowledged
// through the view (fsynced, or only acknowledged: the view writes through)
// is on origin (crash_point.h, crash_targets.h). Points alternate directory
// and image mode; every 20 points both views are also unmounted cleanly and
// checked; every 250 points the directories start afresh. A daemon that
// outlives SIGKILL has its FUSE connection aborted and is counted. Root only.
//
//   wtcachefs_crash_soak [--points N] [--state FILE] [--binary PATH]
//                        [--workdir DIR] [--seed S]
//
// Exit status: 0 all passed; 1 a mismatch or another failure of wtcachefs
// (reported, its directories kept); 2 usage or set-up error; 128+signal when
// stopped by SIGINT, SIGTERM or SIGHUP (after cleaning up).
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "crash_counters.h"
#include "crash_point.h"
#include "crash_rig.h"
#include "crash_targets.h"

namespace wtcachefs::crash_soak {
namespace {

constexpr const char* kUsage =
    "usage: wtcachefs_crash_soak [--points N] [--state FILE] [--binary PATH]\n"
    "                            [--workdir DIR] [--seed S]\n"
    "  --points N     kill points to run now (default 100)\n"
    "  --state FILE   counters summed over runs: read at start, rewritten after every point\n"
    "  --binary PATH  the wtcachefs binary (default: this build's, " WTCACHEFS_BINARY
    ")\n"
    "  --workdir DIR  where ORIGIN, CACHE and VIEW are made, in a new directory that is\n"
    "                 removed at the end (default: $TMPDIR or /tmp)\n"
    "  --seed S       the run's random seed (default: from the clock)\n";

constexpr uint64_t kPointsPerGeneration = 250;
constexpr uint64_t kCleanUnmountEvery = 20;
constexpr uint64_t kSummaryEvery = 100;

volatile std::sig_atomic_t stop_signal = 0;

void RequestStop(int signal) { stop_signal = signal; }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

struct Settings {
  uint64_t points = 100;
  std::string state;
  std::string binary = WTCACHEFS_BINARY;
  std::string workdir;
  uint64_t seed = 0;
};

// "" or what is wrong with the command line; "help" for --help.
std::string ParseArguments(int argc, char** argv, Settings* settings) {
  bool seeded = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return "help";
    if (i + 1 >= argc) return "missing value after " + arg;
    const std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--points" || arg == "--seed") {
      const uint64_t number = std::strtoull(value.c_str(), &end, 0);
      if (value.empty() || *end != '\0') return arg + " takes a number, not '" + value + "'";
      (arg == "--points" ? settings->points : settings->seed) = number;
      seeded = seeded || arg == "--seed";
    } else if (arg == "--state") {
      settings->state = value;
    } else if (arg == "--binary") {
      settings->binary = value;
    } else if (arg == "--workdir") {
      settings->workdir = value;
    } else {
      return "unknown argument '" + arg + "'";
    }
  }
  if (!seeded) {
    settings->seed = static_cast<uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count() ^ ::getpid());
  }
  if (::access(settings->binary.c_str(), X_OK) != 0) {
    return "no wtcachefs binary at '" + settings->binary + "' (give --binary)";
  }
  return {};
}

// SplitMix64: a point's seed from the run's and the point's number, so that a
// reported point can be told apart from every other.
uint64_t PointSeed(uint64_t run_seed, uint64_t point) {
  uint64_t z = run_seed + point * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Soak {
 public:
  Soak(Settings settings, SoakCounters before)
      : settings_(std::move(settings)),
        total_(before),
        fuse_control_mounted_before_(IsMountPoint(kFuseControlDir)) {}
  ~Soak() {
    EndGeneration();
    RemoveWorkdir();
    // fusectl, if a stuck daemon made the soak mount it.
    if (!fuse_control_mounted_before_ && IsMountPoint(kFuseControlDir)) {
      ::umount2(kFuseControlDir, 0);
    }
  }

  // Runs the points; the exit status.
  int Run() {
    const std::string parent = !settings_.workdir.empty()         ? settings_.workdir
                               : std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR")
                                                                  : "/tmp";
    workdir_ = MakeUniqueDirectory(parent, "wtcachefs-crash-soak-");
    if (workdir_.empty()) return SetupError("cannot create a directory in " + parent);
    std::printf("crash soak: seed %llu, %llu points, in %s\n",
                static_cast<unsigned long long>(settings_.seed),
                static_cast<unsigned long long>(settings_.points), workdir_.c_str());
    std::fflush(stdout);
    for (uint64_t i = 0; i < settings_.points; ++i) {
      if (stop_signal != 0) return Stopped();
      const auto start = std::chrono::steady_clock::now();
      const bool passed = RunOnePoint(i);
      AddTime(start);
      if (!passed) {
        (void)SaveState();
        PrintSummary();
        return 1;
      }
      if (!SaveState()) return 2;
      if (run_.points % kSummaryEvery == 0) PrintSummary();
    }
    if (run_.points % kSummaryEvery != 0 || run_.points == 0) PrintSummary();
    return 0;
  }

 private:
  // One kill point, with a new generation of directories before it and the
  // clean cycles after it when due. False after a failure (reported).
  bool RunOnePoint(uint64_t index) {
    if (index % kPointsPerGeneration == 0 && !StartGeneration()) return false;
    const uint64_t number = total_.points + 1;
    const uint64_t seed = PointSeed(settings_.seed, number);
    SoakTarget& target = number % 2 == 1 ? *directory_ : *image_;
    // Every other image point shares the image with the origin writer.
    const bool share_origin = number % 4 != 2;
    const PointResult result = RunKillPoint(target, seed, share_origin, watchdog_);
    run_.points += 1;
    total_.points += 1;
    Count(target.mode() == Mode::kDirectory ? &SoakCounters::kills_directory
                                            : &SoakCounters::kills_image);
    if (!Record(target, result, number, seed, share_origin, false)) return false;
    if (run_.points % kCleanUnmountEvery != 0) return true;
    for (SoakTarget* t : {directory_.get(), image_.get()}) {
      if (!Record(*t, RunCleanCycle(*t, seed + 1, watchdog_), number, seed + 1, false, true)) {
        return false;
      }
    }
    return true;
  }

  // Tallies a point or clean cycle; false (after the report) if it failed.
  bool Record(SoakTarget& target, const PointResult& result, uint64_t number, uint64_t seed,
              bool share_origin, bool clean) {
    Count(&SoakCounters::origin_changes, result.writers.origin_changes);
    if (!result.stuck_after_kill.empty()) {
      Count(&SoakCounters::stuck_after_kill);
      std::fprintf(stderr, "crash soak: point %llu (%s mode, point seed %llu): %s\n",
                   static_cast<unsigned long long>(number), ModeName(target.mode()),
                   static_cast<unsigned long long>(seed), result.stuck_after_kill.c_str());
    }
    if (!result.failure.empty()) {
      Count(result.mismatch ? &SoakCounters::mismatches : &SoakCounters::other_failures);
      ReportFailure(target, result, number, seed, clean);
      return false;
    }
    Count(&SoakCounters::remounts);
    if (clean) Count(&SoakCounters::clean_unmounts);
    Count(&SoakCounters::syncs_checked, result.writers.syncs_acknowledged);
    Count(&SoakCounters::writes_checked, result.writers.writes_acknowledged);
    WarmthTally SoakCounters::*tally = &SoakCounters::warmth_clean;
    if (!clean && target.mode() == Mode::kDirectory) tally = &SoakCounters::warmth_directory;
    if (!clean && target.mode() == Mode::kImage) {
      tally = share_origin ? &SoakCounters::warmth_image_shared : &SoakCounters::warmth_image;
    }
    (run_.*tally).Add(*result.used_blocks_before, *result.used_blocks_after);
    (total_.*tally).Add(*result.used_blocks_before, *result.used_blocks_after);
    return true;
  }

  void Count(uint64_t SoakCounters::*field, uint64_t n = 1) {
    run_.*field += n;
    total_.*field += n;
  }

  void AddTime(std::chrono::steady_clock::time_point start) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    Count(&SoakCounters::milliseconds, static_cast<uint64_t>(ms));
  }

  // New directories for both modes, filled and mounted.
  bool StartGeneration() {
    EndGeneration();
    ++generation_;
    generation_dir_ = workdir_ + "/generation-" + std::to_string(generation_);
    std::mt19937_64 random(PointSeed(settings_.seed, ~generation_));
    // The cache policy changes from one generation to the next.
    const char* policies[] = {"arc", "2q", "lru"};
    const std::vector<std::string> options = SoakMountOptions(policies[generation_ % 3]);
    ::mkdir(generation_dir_.c_str(), 0755);
    for (const Mode mode : {Mode::kDirectory, Mode::kImage}) {
      const std::string root = generation_dir_ + "/" + ModeName(mode);
      ::mkdir(root.c_str(), 0755);
      auto target = mode == Mode::kDirectory ? MakeDirectoryTarget(root, settings_.binary, options)
                                             : MakeImageTarget(root, settings_.binary, options);
      std::string failure = target->Prepare(random);
      if (failure.empty()) failure = target->daemon().Mount();
      (mode == Mode::kDirectory ? directory_ : image_) = std::move(target);
      if (!failure.empty()) {
        std::fprintf(stderr, "crash soak: FAILED to set up %s mode: %s\n", ModeName(mode),
                     failure.c_str());
        Count(&SoakCounters::other_failures);
        keep_ = true;
        return false;
      }
    }
    return true;
  }

  // Unmounts both views; removes their directories unless kept for a report.
  void EndGeneration() {
    directory_.reset();
    image_.reset();
    if (!keep_ && !generation_dir_.empty()) RemoveTree(generation_dir_);
    generation_dir_.clear();
  }

  // Removes the run's directory unless kept; nothing below it stays mounted.
  void RemoveWorkdir() {
    if (workdir_.empty()) return;
    if (keep_) {
      DetachMountsBelow(workdir_);
    } else {
      RemoveTree(workdir_);
    }
    workdir_.clear();
  }

  void ReportFailure(SoakTarget& target, const PointResult& result, uint64_t number, uint64_t seed,
                     bool clean) {
    keep_ = true;
    std::fprintf(stderr,
                 "crash soak: FAILED at point %llu (%s mode, %s), run seed %llu, point seed "
                 "%llu:\n  %s\n  the daemon: %s\n  kept for inspection: %s (origin/, cache/, "
                 "daemon.log); nothing is left mounted\n",
                 static_cast<unsigned long long>(number), ModeName(target.mode()),
                 clean ? "clean unmount and remount" : "SIGKILL and remount",
                 static_cast<unsigned long long>(settings_.seed),
                 static_cast<unsigned long long>(seed), result.failure.c_str(),
                 target.daemon().CommandLine().c_str(), target.root().c_str());
  }

  bool SaveState() {
    if (settings_.state.empty()) return true;
    const std::string failure = SaveCounters(settings_.state, total_);
    if (!failure.empty()) std::fprintf(stderr, "crash soak: %s\n", failure.c_str());
    return failure.empty();
  }

  void PrintSummary() {
    std::printf("%s", FormatSummary(run_, total_).c_str());
    std::fflush(stdout);
  }

  int Stopped() {
    std::printf("crash soak: stopped by signal %d; cleaning up\n", static_cast<int>(stop_signal));
    PrintSummary();
    return 128 + stop_signal;
  }

  int SetupError(const std::string& message) {
    std::fprintf(stderr, "crash soak: %s\n", message.c_str());
    return 2;
  }

  const Settings settings_;
  SoakCounters run_;
  SoakCounters total_;
  Watchdog watchdog_;
  std::string workdir_;
  std::string generation_dir_;
  uint64_t generation_ = 0;
  bool keep_ = false;
  const bool fuse_control_mounted_before_;
  std::unique_ptr<SoakTarget> directory_;
  std::unique_ptr<SoakTarget> image_;
};

}  // namespace
}  // namespace wtcachefs::crash_soak

int main(int argc, char** argv) {
  using namespace wtcachefs::crash_soak;
  Settings settings;
  const std::string problem = ParseArguments(argc, argv, &settings);
  if (problem == "help") {
    std::printf("%s", kUsage);
    return 0;
  }
  if (!problem.empty()) {
    std::fprintf(stderr, "wtcachefs_crash_soak: %s\n%s", problem.c_str(), kUsage);
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "wtcachefs_crash_soak: run as root (it mounts and detaches views)\n");
    return 2;
  }
  SoakCounters before;
  if (!settings.state.empty()) {
    if (const std::string failure = LoadCounters(settings.state, &before); !failure.empty()) {
      std::fprintf(stderr, "wtcachefs_crash_soak: %s\n", failure.c_str());
      return 2;
    }
  }
  InstallStopHandlers();
  Soak soak(std::move(settings), before);
  return soak.Run();
}
