// SPDX-License-Identifier: Apache-2.0
#include "sim/traces.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

namespace wtcachefs::sim {
namespace {

// Draws ranks 0..n-1 with P(r) ~ 1/(r+1)^skew.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double skew) : cdf_(n) {
    double sum = 0;
    for (uint64_t r = 0; r < n; ++r) {
      sum += 1.0 / std::pow(static_cast<double>(r + 1), skew);
      cdf_[r] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  uint64_t operator()(std::mt19937_64& random) const {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(random);
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return static_cast<uint64_t>(std::min<ptrdiff_t>(it - cdf_.begin(), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

// A random permutation of 0..n-1: where each popularity rank lives.
std::vector<uint64_t> Scatter(uint64_t n, std::mt19937_64& random) {
  std::vector<uint64_t> place(n);
  std::iota(place.begin(), place.end(), 0);
  std::shuffle(place.begin(), place.end(), random);
  return place;
}

}  // namespace

Trace ZipfTrace(uint64_t blocks, double skew, uint64_t accesses, uint64_t seed) {
  std::mt19937_64 random(seed);
  const ZipfSampler zipf(blocks, skew);
  const std::vector<uint64_t> place = Scatter(blocks, random);
  Trace trace(accesses);
  for (uint64_t& block : trace) block = place[zipf(random)];
  return trace;
}

Trace LoopTrace(uint64_t blocks, uint64_t accesses) {
  Trace trace(accesses);
  for (uint64_t i = 0; i < accesses; ++i) trace[i] = i % blocks;
  return trace;
}

Trace HotSetWithScansTrace(uint64_t hot, uint64_t scan, uint64_t period, uint64_t accesses,
                           uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<uint64_t> pick(0, hot - 1);
  Trace trace;
  trace.reserve(accesses);
  uint64_t next_cold = hot;  // scanned blocks are never read again
  while (trace.size() < accesses) {
    for (uint64_t i = 0; i < period && trace.size() < accesses; ++i) trace.push_back(pick(random));
    for (uint64_t i = 0; i < scan && trace.size() < accesses; ++i) trace.push_back(next_cold++);
  }
  return trace;
}

Trace VmMixTrace(uint64_t working_set, uint64_t accesses, uint64_t seed) {
  std::mt19937_64 random(seed);
  const uint64_t disk = 10 * working_set;
  const ZipfSampler zipf(working_set, 1.0);
  const std::vector<uint64_t> place = Scatter(working_set, random);
  std::uniform_int_distribution<uint64_t> anywhere(0, disk - 1);
  std::uniform_real_distribution<double> kind(0.0, 1.0);
  Trace trace;
  trace.reserve(accesses);
  while (trace.size() < accesses) {
    const double k = kind(random);
    if (k < 0.7) {
      trace.push_back(place[zipf(random)]);
    } else if (k < 0.9) {
      const uint64_t start = anywhere(random);
      for (uint64_t i = 0; i < 256 && trace.size() < accesses; ++i) {
        trace.push_back((start + i) % disk);
      }
    } else {
      trace.push_back(anywhere(random));
    }
  }
  return trace;
}

Status WriteTrace(const Trace& trace, const std::string& path) {
  std::ofstream out(path);
  if (!out) return Status::FromErrno("cannot create trace '" + path + "'");
  for (const uint64_t entry : trace) {
    if (IsWrite(entry)) out << "w ";
    out << BlockOf(entry) << '\n';
  }
  out.flush();
  if (!out) return Status::FromErrno("cannot write trace '" + path + "'");
  return Status::Ok();
}

Result<Trace> ReadTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno("cannot open trace '" + path + "'");
  Trace trace;
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const bool write = line.starts_with("w ");
    const char* start = line.c_str() + (write ? 2 : 0);
    char* end = nullptr;
    errno = 0;
    const uint64_t block = std::strtoull(start, &end, 10);
    if (errno != 0 || end == start || *end != '\0' || *start == '-' || IsWrite(block)) {
      return Status::Error(EINVAL, "trace '" + path + "' line " + std::to_string(number) +
                                       " is neither a block number nor 'w' and one: '" + line +
                                       "'");
    }
    trace.push_back(write ? block | kTraceWrite : block);
  }
  return trace;
}

}  // namespace wtcachefs::sim
