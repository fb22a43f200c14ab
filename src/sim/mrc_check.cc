// SPDX-License-Identifier: Apache-2.0
#include "sim/mrc_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/simulator.h"
#include "wtcachefs/miss_ratio_curve.h"

namespace wtcachefs::sim {
namespace {

double MeanAbsoluteError(const std::vector<MrcCheckRow>& rows, double MrcCheckRow::*exact,
                         double MrcCheckRow::*estimated) {
  if (rows.empty()) return 0;
  double sum = 0;
  for (const MrcCheckRow& row : rows) sum += std::fabs(row.*exact - row.*estimated);
  return sum / static_cast<double>(rows.size());
}

}  // namespace

double MrcCheck::mean_absolute_error() const {
  return MeanAbsoluteError(rows, &MrcCheckRow::exact, &MrcCheckRow::estimated);
}

double MrcCheck::max_absolute_error() const {
  double worst = 0;
  for (const MrcCheckRow& row : rows) worst = std::max(worst, std::fabs(row.exact - row.estimated));
  return worst;
}

double MrcCheck::lru_mean_absolute_error() const {
  return MeanAbsoluteError(rows, &MrcCheckRow::exact_lru, &MrcCheckRow::estimated_lru);
}

MrcCheck CheckMrc(const Trace& trace, uint64_t capacity, PolicyKind kind, uint32_t promote_after) {
  MissRatioCurve::Config config;
  config.policy = kind;
  config.cache_blocks = capacity;
  config.promote_after = promote_after;
  MissRatioCurve curve(config);
  for (const uint64_t entry : trace) {
    if (IsWrite(entry)) {
      curve.OnWrite(BlockKey{0, BlockOf(entry)}, /*allocate=*/true);
    } else {
      curve.OnRead(BlockKey{0, entry}, /*hit=*/false, /*admit=*/true);
    }
  }
  const MrcSnapshot snapshot = curve.Snapshot();
  MrcCheck check;
  check.policy = kind;
  check.sampling_rate = snapshot.sampling_rate;
  check.simulation_rate = snapshot.simulation_rate;
  check.memory_bytes = snapshot.memory_bytes;
  for (const MrcPoint& point : snapshot.points) {
    const uint64_t blocks = std::max<uint64_t>(point.cache_blocks, 1);
    check.rows.push_back(
        MrcCheckRow{.cache_blocks = point.cache_blocks,
                    .exact = SimulatePolicy(trace, blocks, kind, promote_after).hit_ratio(),
                    .estimated = point.hit_ratio,
                    .exact_lru = 0,
                    .estimated_lru = point.lru_hit_ratio});
    MrcCheckRow& row = check.rows.back();
    const bool plain_lru = kind == PolicyKind::kLru && promote_after <= 1;
    row.exact_lru =
        plain_lru ? row.exact : SimulatePolicy(trace, blocks, PolicyKind::kLru).hit_ratio();
  }
  return check;
}

std::string MrcCheckTable(const MrcCheck& check) {
  std::string table = "| cache (blocks) | " + std::string(PolicyName(check.policy)) + " exact | " +
                      std::string(PolicyName(check.policy)) +
                      " estimated | lru exact | lru estimated (SHARDS) |\n"
                      "|---:|---:|---:|---:|---:|\n";
  char line[160];
  for (const MrcCheckRow& row : check.rows) {
    std::snprintf(line, sizeof(line), "| %llu | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n",
                  static_cast<unsigned long long>(row.cache_blocks), 100 * row.exact,
                  100 * row.estimated, 100 * row.exact_lru, 100 * row.estimated_lru);
    table += line;
  }
  std::snprintf(line, sizeof(line),
                "| mean absolute error | | %.4f | | %.4f |\n\nSampling rate %.4g "
                "(simulations %.4g), %.2f MiB.\n",
                check.mean_absolute_error(), check.lru_mean_absolute_error(), check.sampling_rate,
                check.simulation_rate, static_cast<double>(check.memory_bytes) / (1 << 20));
  table += line;
  return table;
}

std::string MrcSummaryTable(const std::vector<NamedMrcChecks>& traces) {
  if (traces.empty() || traces.front().checks.empty()) return "";
  std::string table = "| trace |";
  std::string rule = "|---|";
  for (const MrcCheck& check : traces.front().checks) {
    table += " " + std::string(PolicyName(check.policy)) + " MAE (max) |";
    rule += "---:|";
  }
  table += " lru from reuse distances, MAE |\n" + rule + "---:|\n";
  char cell[64];
  for (const NamedMrcChecks& named : traces) {
    table += "| " + named.trace + " |";
    double lru_error = 0;
    for (const MrcCheck& check : named.checks) {
      std::snprintf(cell, sizeof(cell), " %.4f (%.4f) |", check.mean_absolute_error(),
                    check.max_absolute_error());
      table += cell;
      lru_error = std::max(lru_error, check.lru_mean_absolute_error());
    }
    std::snprintf(cell, sizeof(cell), " %.4f |\n", lru_error);
    table += cell;
  }
  return table;
}

}  // namespace wtcachefs::sim
