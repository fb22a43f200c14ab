// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/mrc_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/human_bytes.h"

namespace wtcachefs {
namespace {

// Reads the simulation at the cache's size must have seen before the curve
// gives advice.
constexpr uint64_t kAdviceMinSampledReads = 1000;
constexpr double kAdviceGain = 0.10;
constexpr double kNearBest = 0.02;
constexpr int kBarWidth = 40;

uint64_t BytesOf(const MrcSnapshot& s, uint64_t blocks) { return blocks * s.block_size; }

std::string Percent(double ratio) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * ratio);
  return text;
}

std::string Ratio(double ratio) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", ratio);
  return text;
}

std::string Duration(double seconds) {
  char text[32];
  if (seconds < 120) {
    std::snprintf(text, sizeof(text), "%.0f s", seconds);
  } else if (seconds < 2 * 3600) {
    std::snprintf(text, sizeof(text), "%.0f min", seconds / 60);
  } else {
    std::snprintf(text, sizeof(text), "%.1f h", seconds / 3600);
  }
  return text;
}

}  // namespace

std::string RenderMrcTable(const MrcSnapshot& s) {
  if (!s.enabled) {
    return "the miss-ratio curve is off (-o mrc=off): remount without it to measure one\n";
  }
  std::ostringstream out;
  const std::string policy(PolicyName(s.policy));
  out << "miss-ratio curve of the reads over the last " << Duration(s.window_seconds) << " (policy "
      << policy << ")\n";
  out << "block reads     " << s.reads;
  if (s.reads > 0) out << ", " << Percent(s.measured_hit_ratio()) << " served by the cache";
  out << "\n";
  char rate[96];
  std::snprintf(rate, sizeof(rate), "%.3g%% of blocks (simulations %.3g%%), %llu blocks tracked",
                100 * s.sampling_rate, 100 * s.simulation_rate,
                static_cast<unsigned long long>(s.sampled_blocks));
  out << "sampling        " << rate << ", " << HumanBytes(s.memory_bytes) << " of RAM\n";
  char row[160];
  std::snprintf(row, sizeof(row), "%14s %9s %9s  %s\n", "cache size", policy.c_str(), "lru",
                "predicted hit ratio");
  out << row;
  for (const MrcPoint& p : s.points) {
    const int bar = static_cast<int>(std::lround(std::clamp(p.hit_ratio, 0.0, 1.0) * kBarWidth));
    const bool current = p.cache_blocks == s.cache_blocks;
    std::snprintf(row, sizeof(row), "%14s %9s %9s  |%s%s\n",
                  HumanBytes(BytesOf(s, p.cache_blocks)).c_str(), Percent(p.hit_ratio).c_str(),
                  Percent(p.lru_hit_ratio).c_str(), std::string(bar, '#').c_str(),
                  current ? "  <- this cache" : "");
    out << row;
  }
  out << "working set     ";
  if (s.reads == 0) {
    out << "- (no reads yet)\n";
  } else if (s.working_set_blocks == 0) {
    out << "none: the reads do not come back, no cache size serves them\n";
  } else if (s.working_set_blocks) {
    out << "about " << HumanBytes(BytesOf(s, *s.working_set_blocks))
        << " (a larger LRU cache gains less than one point)\n";
  } else {
    out << "more than " << HumanBytes(BytesOf(s, 32 * s.cache_blocks))
        << " (the curve still rises there)\n";
  }
  if (const std::string advice = MrcAdvice(s); !advice.empty()) out << advice << "\n";
  return out.str();
}

std::string RenderMrcJson(const MrcSnapshot& s) {
  if (!s.enabled) return "{\"enabled\":false,\"points\":[]}\n";
  std::ostringstream out;
  out << "{\"enabled\":true,\"policy\":\"" << PolicyName(s.policy)
      << "\",\"sampling_rate\":" << s.sampling_rate << ",\"simulation_rate\":" << s.simulation_rate
      << ",\"sampled_blocks\":" << s.sampled_blocks << ",\"sampled_reads\":" << s.sampled_reads
      << ",\"memory_bytes\":" << s.memory_bytes << ",\"block_size\":" << s.block_size
      << ",\"cache_bytes\":" << BytesOf(s, s.cache_blocks)
      << ",\"window_seconds\":" << s.window_seconds << ",\"reads\":" << s.reads
      << ",\"measured_hit_ratio\":" << Ratio(s.measured_hit_ratio()) << ",\"working_set_bytes\":";
  if (s.working_set_blocks) {
    out << BytesOf(s, *s.working_set_blocks);
  } else {
    out << "null";
  }
  out << ",\"points\":[";
  for (size_t i = 0; i < s.points.size(); ++i) {
    const MrcPoint& p = s.points[i];
    out << (i == 0 ? "" : ",") << "{\"cache_bytes\":" << BytesOf(s, p.cache_blocks)
        << ",\"hit_ratio\":" << Ratio(p.hit_ratio)
        << ",\"lru_hit_ratio\":" << Ratio(p.lru_hit_ratio) << "}";
  }
  out << "]}\n";
  return out.str();
}

std::string RenderMrcLineFields(const MrcSnapshot& s) {
  if (!s.enabled) return " mrc=off";
  std::ostringstream out;
  out << " mrc_policy=" << PolicyName(s.policy) << " mrc_sampling_rate=" << s.sampling_rate
      << " mrc_sampled_blocks=" << s.sampled_blocks << " mrc_memory_bytes=" << s.memory_bytes
      << " mrc_reads=" << s.reads << " mrc_measured_hit_ratio=" << Ratio(s.measured_hit_ratio());
  if (s.working_set_blocks) {
    out << " mrc_working_set_bytes=" << BytesOf(s, *s.working_set_blocks);
  }
  for (const MrcPoint& p : s.points) {
    out << " mrc_hit_ratio_" << BytesOf(s, p.cache_blocks) << "=" << Ratio(p.hit_ratio)
        << " mrc_lru_hit_ratio_" << BytesOf(s, p.cache_blocks) << "=" << Ratio(p.lru_hit_ratio);
  }
  return out.str();
}

std::string MrcAdvice(const MrcSnapshot& s) {
  if (!s.enabled || s.points.size() < 3 || s.sampled_reads < kAdviceMinSampledReads) return "";
  const MrcPoint& now = s.current();
  double best = now.hit_ratio;
  for (const MrcPoint& p : s.points) {
    if (p.cache_blocks > now.cache_blocks) best = std::max(best, p.hit_ratio);
  }
  for (const MrcPoint& p : s.points) {
    if (p.cache_blocks <= now.cache_blocks || p.hit_ratio < best - kNearBest) continue;
    if (p.hit_ratio - now.hit_ratio <= kAdviceGain) return "";
    char text[160];
    std::snprintf(
        text, sizeof(text), "a cache of %s would have served %.0f%% of reads instead of %.0f%%",
        HumanBytes(BytesOf(s, p.cache_blocks)).c_str(), 100 * p.hit_ratio, 100 * now.hit_ratio);
    return text;
  }
  return "";
}

}  // namespace wtcachefs
