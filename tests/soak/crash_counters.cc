// SPDX-License-Identifier: Apache-2.0
#include "crash_counters.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace wtcachefs::crash_soak {
namespace {

using Field = uint64_t SoakCounters::*;
constexpr std::pair<const char*, Field> kFields[] = {
    {"points", &SoakCounters::points},
    {"kills_directory", &SoakCounters::kills_directory},
    {"kills_image", &SoakCounters::kills_image},
    {"remounts", &SoakCounters::remounts},
    {"clean_unmounts", &SoakCounters::clean_unmounts},
    {"mismatches", &SoakCounters::mismatches},
    {"other_failures", &SoakCounters::other_failures},
    {"stuck_after_kill", &SoakCounters::stuck_after_kill},
    {"syncs_checked", &SoakCounters::syncs_checked},
    {"writes_checked", &SoakCounters::writes_checked},
    {"origin_changes", &SoakCounters::origin_changes},
    {"milliseconds", &SoakCounters::milliseconds},
};

using Tally = WarmthTally SoakCounters::*;
constexpr std::pair<const char*, Tally> kTallies[] = {
    {"warmth_directory", &SoakCounters::warmth_directory},
    {"warmth_image", &SoakCounters::warmth_image},
    {"warmth_image_shared", &SoakCounters::warmth_image_shared},
    {"warmth_clean", &SoakCounters::warmth_clean},
};

// A tally as "measured blocks_before blocks_after min_permille by_percent[0..100]".
std::string TallyValues(const WarmthTally& t) {
  std::ostringstream out;
  out << t.measured << ' ' << t.blocks_before << ' ' << t.blocks_after << ' ' << t.min_permille;
  for (const uint64_t n : t.by_percent) out << ' ' << n;
  return out.str();
}

bool ParseTally(std::istringstream& in, WarmthTally* t) {
  in >> t->measured >> t->blocks_before >> t->blocks_after >> t->min_permille;
  for (uint64_t& n : t->by_percent) in >> n;
  return !in.fail();
}

std::string Percent(uint64_t permille) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", static_cast<double>(permille) / 10);
  return text;
}

std::string WarmthLine(const char* name, const WarmthTally& run, const WarmthTally& total) {
  auto describe = [](const WarmthTally& t) {
    if (t.measured == 0) return std::string("none measured");
    return "median " + std::to_string(t.MedianPercent()) + "%, min " + Percent(t.min_permille) +
           " of " + std::to_string(t.measured) + " remounts (used_blocks " +
           std::to_string(t.blocks_before) + " before, " + std::to_string(t.blocks_after) +
           " after)";
  };
  return std::string("  warmth ") + name + ": " + describe(run) +
         "\n    in total: " + describe(total) + "\n";
}

}  // namespace

void WarmthTally::Add(uint64_t before, uint64_t after) {
  if (before == 0) return;
  ++measured;
  blocks_before += before;
  blocks_after += after;
  const uint64_t permille = std::min<uint64_t>(after * 1000 / before, 1000);
  min_permille = std::min(min_permille, permille);
  ++by_percent[permille / 10];
}

void WarmthTally::Merge(const WarmthTally& other) {
  measured += other.measured;
  blocks_before += other.blocks_before;
  blocks_after += other.blocks_after;
  min_permille = std::min(min_permille, other.min_permille);
  for (size_t i = 0; i < by_percent.size(); ++i) by_percent[i] += other.by_percent[i];
}

uint64_t WarmthTally::MedianPercent() const {
  uint64_t seen = 0;
  for (size_t i = 0; i < by_percent.size(); ++i) {
    seen += by_percent[i];
    if (seen * 2 >= measured && seen > 0) return i;
  }
  return 0;
}

void SoakCounters::Merge(const SoakCounters& other) {
  for (const auto& [name, field] : kFields) this->*field += other.*field;
  for (const auto& [name, tally] : kTallies) (this->*tally).Merge(other.*tally);
}

std::string LoadCounters(const std::string& path, SoakCounters* counters) {
  *counters = SoakCounters{};
  std::ifstream in(path);
  if (!in) return ::access(path.c_str(), F_OK) != 0 && errno == ENOENT ? "" : "cannot read " + path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    bool known = false;
    for (const auto& [field_name, field] : kFields) {
      if (name != field_name) continue;
      known = true;
      if (!(fields >> counters->*field)) return path + ": bad value in '" + line + "'";
    }
    for (const auto& [tally_name, tally] : kTallies) {
      if (name != tally_name) continue;
      known = true;
      if (!ParseTally(fields, &(counters->*tally))) return path + ": bad values in '" + line + "'";
    }
    if (!known) return path + ": unknown counter '" + name + "'";
  }
  return {};
}

std::string SaveCounters(const std::string& path, const SoakCounters& counters) {
  const std::string staged = path + ".new";
  {
    std::ofstream out(staged, std::ios::trunc);
    out << "# wtcachefs crash soak counters, summed over runs (wtcachefs_crash_soak --state)\n";
    for (const auto& [name, field] : kFields) out << name << ' ' << counters.*field << '\n';
    for (const auto& [name, tally] : kTallies) {
      out << name << ' ' << TallyValues(counters.*tally) << '\n';
    }
    out.flush();
    if (!out) return "cannot write " + staged;
  }
  if (::rename(staged.c_str(), path.c_str()) != 0) {
    return "cannot rename " + staged + ": " + std::strerror(errno);
  }
  return {};
}

std::string FormatSummary(const SoakCounters& run, const SoakCounters& total) {
  auto pair = [](uint64_t r, uint64_t t) {
    return std::to_string(r) + " (" + std::to_string(t) + ")";
  };
  std::ostringstream out;
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.2f",
                run.points == 0 ? 0.0 : static_cast<double>(run.milliseconds) / 1000 / run.points);
  out << "crash soak: " << run.points << " points this run, " << total.points << " in total; "
      << seconds << " s per point (counts: this run (in total))\n";
  out << "  kills: directory " << pair(run.kills_directory, total.kills_directory) << ", image "
      << pair(run.kills_image, total.kills_image) << "\n";
  out << "  remounts checked: " << pair(run.remounts, total.remounts)
      << ", of which after a clean unmount " << pair(run.clean_unmounts, total.clean_unmounts)
      << "\n";
  out << "  mismatches: " << pair(run.mismatches, total.mismatches)
      << ", other failures: " << pair(run.other_failures, total.other_failures) << "\n";
  out << "  daemons alive 5 s after SIGKILL (released by aborting their FUSE connection): "
      << pair(run.stuck_after_kill, total.stuck_after_kill) << "\n";
  out << "  acknowledged fsyncs checked: " << pair(run.syncs_checked, total.syncs_checked)
      << ", acknowledged writes checked: " << pair(run.writes_checked, total.writes_checked)
      << ", changes on origin behind the mount: " << pair(run.origin_changes, total.origin_changes)
      << "\n";
  out << WarmthLine("after a kill, directory mode", run.warmth_directory, total.warmth_directory);
  out << WarmthLine("after a kill, image mode", run.warmth_image, total.warmth_image);
  out << WarmthLine("after a kill, image mode, the image changed behind the mount too",
                    run.warmth_image_shared, total.warmth_image_shared);
  out << WarmthLine("after a clean unmount", run.warmth_clean, total.warmth_clean);
  return out.str();
}

}  // namespace wtcachefs::crash_soak
