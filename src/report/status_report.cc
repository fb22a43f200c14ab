// SPDX-License-Identifier: Apache-2.0
#include "wtcachefs/status_report.h"

#include <cstdio>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

#include "report/human_bytes.h"
#include "report/stats_history.h"
#include "wtcachefs/mrc_report.h"

namespace wtcachefs {
namespace {

std::string Percent(const EngineStats& s) {
  const uint64_t reads = s.read_hits + s.read_partial_hits + s.read_misses;
  if (reads == 0) return "-";
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * ReadHitRatio(s));
  return text;
}

std::string Mode(const EngineStats& s) { return s.degraded ? "degraded" : "normal"; }

// `bytes` / `count` with one decimal, "-" when `count` is 0.
std::string PerItem(uint64_t bytes, uint64_t count) {
  if (count == 0) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f",
                static_cast<double>(bytes) / static_cast<double>(count));
  return text;
}

void JsonCounters(std::ostringstream& out, const EngineStats& s) {
  out << "{";
  bool first = true;
  ForEachCounter(s, [&](std::string_view name, uint64_t value) {
    out << (first ? "" : ",") << "\"" << name << "\":" << value;
    first = false;
  });
  out << ",\"read_hit_ratio\":" << ReadHitRatio(s) << "}";
}

}  // namespace

std::string JsonString(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string RenderStatusTable(const StatusSnapshot& s) {
  std::ostringstream out;
  const EngineStats& t = s.total;
  out << "mode            " << Mode(t);
  if (t.degraded && !s.degraded_reason.empty()) out << " (" << s.degraded_reason << ")";
  out << "\n";
  out << "transport       " << TransportName(s.transport);
  if (!s.transport_note.empty()) out << " (" << s.transport_note << ")";
  out << "\n";
  out << "cache blocks    " << t.used_blocks << " used of " << t.total_blocks << " ("
      << s.block_size / 1024 << " KiB each)";
  if (t.space_limit_blocks < t.total_blocks) {
    out << "; limited to " << t.space_limit_blocks << " by the free-space floor";
  }
  out << "\n";
  out << "index memory    " << HumanBytes(t.index_memory_bytes) << " ("
      << PerItem(t.index_memory_bytes, t.used_blocks) << " bytes per cached block, "
      << PerItem(t.index_memory_bytes, t.total_blocks) << " per slot)\n";
  out << "files in memory " << t.resident_files << "\n";
  out << "read hit ratio  5 min " << Percent(s.last_5_min) << "   hour " << Percent(s.last_hour)
      << "   day " << Percent(s.last_day) << "   total " << Percent(t) << "\n";
  if (s.mrc) {
    if (const std::string advice = MrcAdvice(*s.mrc); !advice.empty()) {
      out << "cache size      " << advice << " ('wtcachefs status --mrc' shows the curve)\n";
    }
  }
  char row[128];
  std::snprintf(row, sizeof(row), "%-24s %14s %14s\n", "counter", "last hour", "total");
  out << row;
  ForEachCounter(t, [&](std::string_view name, uint64_t value) {
    uint64_t hour = 0;
    ForEachCounter(s.last_hour, [&](std::string_view n, uint64_t v) {
      if (n == name) hour = v;
    });
    std::snprintf(row, sizeof(row), "%-24.*s %14llu %14llu\n", static_cast<int>(name.size()),
                  name.data(), static_cast<unsigned long long>(hour),
                  static_cast<unsigned long long>(value));
    out << row;
  });
  return out.str();
}

std::string RenderStatusLine(const StatusSnapshot& s) {
  std::ostringstream out;
  out << "mode=" << Mode(s.total) << " transport=" << TransportName(s.transport)
      << " block_size=" << s.block_size << " used_blocks=" << s.total.used_blocks
      << " total_blocks=" << s.total.total_blocks
      << " index_memory_bytes=" << s.total.index_memory_bytes
      << " resident_files=" << s.total.resident_files
      << " space_limit_blocks=" << s.total.space_limit_blocks;
  ForEachCounter(s.total, [&](std::string_view name, uint64_t value) {
    out << " " << name << "=" << value;
  });
  if (s.mrc) out << RenderMrcLineFields(*s.mrc);
  out << "\n";
  return out.str();
}

std::string RenderStatusJson(const StatusSnapshot& s) {
  std::ostringstream out;
  out << "{\"mode\":\"" << Mode(s.total) << "\",";
  if (s.total.degraded) out << "\"degraded_reason\":" << JsonString(s.degraded_reason) << ",";
  out << "\"transport\":\"" << TransportName(s.transport) << "\",\"block_size\":" << s.block_size
      << ",\"used_blocks\":" << s.total.used_blocks << ",\"total_blocks\":" << s.total.total_blocks
      << ",\"index_memory_bytes\":" << s.total.index_memory_bytes
      << ",\"resident_files\":" << s.total.resident_files
      << ",\"space_limit_blocks\":" << s.total.space_limit_blocks << ",\"total\":";
  JsonCounters(out, s.total);
  out << ",\"last_5_min\":";
  JsonCounters(out, s.last_5_min);
  out << ",\"last_hour\":";
  JsonCounters(out, s.last_hour);
  out << ",\"last_day\":";
  JsonCounters(out, s.last_day);
  out << "}\n";
  return out.str();
}

}  // namespace wtcachefs
