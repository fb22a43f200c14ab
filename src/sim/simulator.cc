// SPDX-License-Identifier: Apache-2.0
#include "sim/simulator.h"

#include <cstdio>
#include <limits>
#include <set>
#include <unordered_map>
#include <vector>

#include "policy/policy_cache.h"

namespace wtcachefs::sim {
namespace {

constexpr PolicyKind kAllPolicies[] = {PolicyKind::kLru, PolicyKind::kTwoQueue,
                                       PolicyKind::kArc};

BlockKey KeyOf(uint64_t block) { return BlockKey{0, block}; }

std::string Percent(double ratio) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * ratio);
  return text;
}

}  // namespace

SimResult SimulatePolicy(const Trace& trace, uint64_t capacity, PolicyKind kind,
                         uint32_t promote_after) {
  PolicyCache cache(kind, capacity, promote_after);
  SimResult result;
  for (const uint64_t entry : trace) {
    if (IsWrite(entry)) {
      cache.Write(KeyOf(BlockOf(entry)), /*allocate=*/true);
      continue;
    }
    ++result.accesses;
    if (cache.Read(KeyOf(entry))) ++result.hits;
  }
  return result;
}

SimResult SimulateOptimal(const Trace& all, uint64_t capacity) {
  constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  // The optimal policy is taken over the reads alone.
  Trace trace;
  trace.reserve(all.size());
  for (const uint64_t entry : all) {
    if (!IsWrite(entry)) trace.push_back(entry);
  }
  std::vector<uint64_t> next_use(trace.size());
  std::unordered_map<uint64_t, uint64_t> seen_at;
  for (uint64_t i = trace.size(); i > 0; --i) {
    const auto it = seen_at.find(trace[i - 1]);
    next_use[i - 1] = it == seen_at.end() ? kNever : it->second;
    seen_at[trace[i - 1]] = i - 1;
  }
  // Cached blocks ordered by their next use; the last is the farthest.
  std::set<std::pair<uint64_t, uint64_t>> by_next_use;
  std::unordered_map<uint64_t, uint64_t> next_of;
  SimResult result;
  for (uint64_t i = 0; i < trace.size(); ++i) {
    const uint64_t block = trace[i];
    ++result.accesses;
    if (const auto it = next_of.find(block); it != next_of.end()) {
      ++result.hits;
      by_next_use.erase({it->second, block});
      it->second = next_use[i];
      by_next_use.insert({next_use[i], block});
      continue;
    }
    if (next_use[i] == kNever) continue;  // never asked for again: not worth a slot
    if (next_of.size() >= capacity) {
      const auto farthest = std::prev(by_next_use.end());
      if (farthest->first <= next_use[i]) continue;  // the new block is the worse one
      next_of.erase(farthest->second);
      by_next_use.erase(farthest);
    }
    next_of[block] = next_use[i];
    by_next_use.insert({next_use[i], block});
  }
  return result;
}

std::vector<NamedTrace> StandardTraces(uint64_t capacity, uint64_t accesses, uint64_t seed) {
  std::vector<NamedTrace> traces;
  for (const double skew : {0.8, 1.0, 1.2}) {
    char name[32];
    std::snprintf(name, sizeof(name), "zipf-%.1f", skew);
    traces.push_back({name, "Zipf over 10x the cache",
                      ZipfTrace(10 * capacity, skew, accesses, seed)});
  }
  traces.push_back({"loop-1.1x", "a loop over 1.1x the cache",
                    LoopTrace(capacity + capacity / 10, accesses)});
  traces.push_back({"hot+scans", "a hot set of half the cache, a scan of 2x the cache every "
                                 "5x the cache in accesses",
                    HotSetWithScansTrace(capacity / 2, 2 * capacity, 5 * capacity, accesses,
                                         seed)});
  traces.push_back({"vm-mix", "70% Zipf over 5x the cache, 20% sequential runs, 10% random",
                    VmMixTrace(5 * capacity, accesses, seed)});
  return traces;
}

std::string ReportTable(const std::vector<NamedTrace>& traces, uint64_t capacity,
                        uint32_t promote_after) {
  std::string table = "| trace |";
  for (PolicyKind kind : kAllPolicies) table += " " + std::string(PolicyName(kind)) + " |";
  table += " optimal (Bélády) |\n|---|";
  for (size_t i = 0; i <= std::size(kAllPolicies); ++i) table += "---:|";
  table += "\n";
  for (const NamedTrace& named : traces) {
    table += "| " + named.name + " |";
    for (PolicyKind kind : kAllPolicies) {
      table += " " + Percent(SimulatePolicy(named.trace, capacity, kind, promote_after)
                                 .hit_ratio()) + " |";
    }
    table += " " + Percent(SimulateOptimal(named.trace, capacity).hit_ratio()) + " |\n";
  }
  return table;
}

}  // namespace wtcachefs::sim
