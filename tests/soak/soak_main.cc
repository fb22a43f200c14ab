// SPDX-License-Identifier: Apache-2.0
// wtcachefs_soak: a load and soak tool. Client threads (16 by default) run mixed
// data and namespace operations through a mounted VIEW, each in a directory of
// its own with an in-memory model of what it wrote, and verify everything
// periodically: through VIEW (buffered and O_DIRECT) and directly on ORIGIN
// (writethrough: origin holds every acknowledged byte). It samples the daemon's
// resident memory at every verification and exits 0 only with zero mismatches
// and zero errors.
//
//   wtcachefs_soak VIEW ORIGIN [--clients N] [--seconds S] [--verify-every S]
//                  [--daemon-pid PID] [--seed N]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string view, origin;
  int clients = 16;
  double seconds = 60;
  double verify_every = 10;
  long daemon_pid = -1;
  unsigned seed = 0;
};

struct Totals {
  std::atomic<uint64_t> operations{0}, verifications{0}, mismatches{0}, errors{0};
  std::mutex report_mutex;
  void Report(const std::string& what) {
    std::lock_guard lock(report_mutex);
    std::fprintf(stderr, "soak: %s\n", what.c_str());
  }
};

long ResidentKiB(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string word;
  while (status >> word) {
    if (word == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
  }
  return -1;
}

bool ReadWhole(const std::string& path, std::string& out, bool direct) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  const size_t rounded = (static_cast<size_t>(st.st_size) + 4095) / 4096 * 4096 + 4096;
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, rounded) != 0) {
    ::close(fd);
    return false;
  }
  size_t total = 0;
  ssize_t n;
  while ((n = ::pread(fd, static_cast<char*>(buffer) + total, rounded - total,
                      static_cast<off_t>(total))) > 0) {
    total += static_cast<size_t>(n);
  }
  out.assign(static_cast<char*>(buffer), total);
  std::free(buffer);
  ::close(fd);
  return n == 0;
}

// One client: files in its own directory, mirrored in `model`.
class Client {
 public:
  Client(const Settings& settings, Totals& totals, int id)
      : settings_(settings),
        totals_(totals),
        dir_("soak-" + std::to_string(id)),
        random_(settings.seed * 7919u + static_cast<unsigned>(id)) {}

  void Run(Clock::time_point end) {
    ::mkdir(ViewPath("").c_str(), 0755);
    auto next_verify = Clock::now() + Seconds(settings_.verify_every);
    while (Clock::now() < end) {
      Step();
      ++totals_.operations;
      if (Clock::now() >= next_verify) {
        Verify();
        next_verify = Clock::now() + Seconds(settings_.verify_every);
      }
    }
    Verify();
  }

 private:
  static std::chrono::nanoseconds Seconds(double s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
  }
  std::string ViewPath(const std::string& name) const {
    return settings_.view + "/" + dir_ + (name.empty() ? "" : "/" + name);
  }
  std::string OriginPath(const std::string& name) const {
    return settings_.origin + "/" + dir_ + "/" + name;
  }
  void Fail(const std::string& what) {
    ++totals_.errors;
    totals_.Report(dir_ + ": " + what + ": " + std::strerror(errno));
  }
  std::string PickName() {
    if (!model_.empty() && random_() % 4 != 0) {
      auto it = model_.begin();
      std::advance(it, random_() % model_.size());
      return it->first;
    }
    return "f" + std::to_string(random_() % 24);
  }

  void Step() {
    const std::string name = PickName();
    const std::string path = ViewPath(name);
    const bool exists = model_.contains(name);
    switch (random_() % 10) {
      case 0:
      case 1:
      case 2: {  // write a random range (creating the file)
        const size_t offset = random_() % (768 << 10);
        const size_t length = 1 + random_() % (192 << 10);
        std::string data(length, '\0');
        for (char& c : data) c = static_cast<char>('a' + random_() % 26);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return Fail("open " + name);
        if (::pwrite(fd, data.data(), length, static_cast<off_t>(offset)) !=
            static_cast<ssize_t>(length)) {
          Fail("write " + name);
        }
        ::close(fd);
        std::string& content = model_[name];
        if (content.size() < offset + length) content.resize(offset + length, '\0');
        content.replace(offset, length, data);
        return;
      }
      case 3:
      case 4: {  // read a range and compare
        if (!exists) return;
        std::string content;
        if (!ReadWhole(path, content, random_() % 2 == 0)) return Fail("read " + name);
        if (content != model_[name]) Mismatch(name, "VIEW");
        return;
      }
      case 5: {  // truncate
        if (!exists) return;
        const size_t size = random_() % (1 << 20);
        if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return Fail("truncate");
        model_[name].resize(size, '\0');
        return;
      }
      case 6: {  // rename over another name (or a new one)
        if (!exists) return;
        const std::string to = "f" + std::to_string(random_() % 24);
        if (to == name) return;
        if (::rename(path.c_str(), ViewPath(to).c_str()) != 0) return Fail("rename");
        model_[to] = std::move(model_[name]);
        model_.erase(name);
        return;
      }
      case 7: {  // unlink
        if (!exists) return;
        if (::unlink(path.c_str()) != 0) return Fail("unlink");
        model_.erase(name);
        return;
      }
      case 8: {  // fsync
        if (!exists) return;
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) return Fail("open for fsync");
        if (::fsync(fd) != 0) Fail("fsync");
        ::close(fd);
        return;
      }
      default: {  // a directory made and removed
        const std::string sub = ViewPath("d" + std::to_string(random_() % 4));
        if (::mkdir(sub.c_str(), 0755) == 0 && ::rmdir(sub.c_str()) != 0) Fail("rmdir");
        return;
      }
    }
  }

  void Mismatch(const std::string& name, const std::string& where) {
    ++totals_.mismatches;
    totals_.Report(dir_ + "/" + name + " differs from the model through " + where);
  }

  void Verify() {
    ++totals_.verifications;
    for (const auto& [name, content] : model_) {
      std::string through_view, on_origin;
      if (!ReadWhole(ViewPath(name), through_view, /*direct=*/true)) {
        Fail("verify read " + name);
        continue;
      }
      if (through_view != content) Mismatch(name, "VIEW (O_DIRECT)");
      if (!ReadWhole(OriginPath(name), on_origin, false)) {
        Fail("verify origin read " + name);
        continue;
      }
      if (on_origin != content) Mismatch(name, "ORIGIN");
    }
  }

  const Settings& settings_;
  Totals& totals_;
  const std::string dir_;
  std::mt19937 random_;
  std::map<std::string, std::string> model_;
};

bool ParseArgs(int argc, char** argv, Settings& s) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--clients" && (v = value())) {
      s.clients = std::atoi(v);
    } else if (arg == "--seconds" && (v = value())) {
      s.seconds = std::atof(v);
    } else if (arg == "--verify-every" && (v = value())) {
      s.verify_every = std::atof(v);
    } else if (arg == "--daemon-pid" && (v = value())) {
      s.daemon_pid = std::atol(v);
    } else if (arg == "--seed" && (v = value())) {
      s.seed = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    } else if (!arg.starts_with("--")) {
      positional.push_back(arg);
    } else {
      return false;
    }
  }
  if (positional.size() != 2 || s.clients < 1 || s.seconds <= 0) return false;
  s.view = positional[0];
  s.origin = positional[1];
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  settings.seed = static_cast<unsigned>(std::random_device()());
  if (!ParseArgs(argc, argv, settings)) {
    std::fprintf(stderr,
                 "usage: wtcachefs_soak VIEW ORIGIN [--clients N] [--seconds S] "
                 "[--verify-every S] [--daemon-pid PID] [--seed N]\n");
    return 1;
  }
  Totals totals;
  std::atomic<bool> done{false};
  long rss_min = -1, rss_max = -1, rss_first = -1, rss_last = -1;
  std::thread sampler([&] {
    while (!done) {
      if (settings.daemon_pid > 0) {
        const long rss = ResidentKiB(settings.daemon_pid);
        if (rss > 0) {
          if (rss_first < 0) rss_first = rss;
          rss_last = rss;
          rss_min = rss_min < 0 ? rss : std::min(rss_min, rss);
          rss_max = std::max(rss_max, rss);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(settings.seconds));
  std::vector<std::thread> clients;
  for (int id = 0; id < settings.clients; ++id) {
    clients.emplace_back([&, id] { Client(settings, totals, id).Run(end); });
  }
  for (std::thread& t : clients) t.join();
  done = true;
  sampler.join();
  std::printf("soak: seed %u, %d clients, %.0f s: %llu operations, %llu verifications, "
              "%llu mismatches, %llu errors",
              settings.seed, settings.clients, settings.seconds,
              static_cast<unsigned long long>(totals.operations.load()),
              static_cast<unsigned long long>(totals.verifications.load()),
              static_cast<unsigned long long>(totals.mismatches.load()),
              static_cast<unsigned long long>(totals.errors.load()));
  if (rss_first > 0) {
    std::printf("; daemon RSS first %ld KiB, last %ld KiB, min %ld KiB, max %ld KiB", rss_first,
                rss_last, rss_min, rss_max);
  }
  std::printf("\n");
  return totals.mismatches == 0 && totals.errors == 0 ? 0 : 1;
}
