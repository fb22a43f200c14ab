// SPDX-License-Identifier: Apache-2.0
#include "cli/prometheus_format.h"

#include <cstdlib>
#include <sstream>

namespace wtcachefs {
namespace {

struct Metric {
  const char* field;   // in the status line
  const char* name;    // the Prometheus metric
  const char* type;    // counter or gauge
  const char* help;
};

constexpr Metric kMetrics[] = {
    {"read_hits", "wtcachefs_read_hits_total", "counter",
     "Read requests served wholly from the cache."},
    {"read_partial_hits", "wtcachefs_read_partial_hits_total", "counter",
     "Read requests served partly from the cache, partly from the origin."},
    {"read_misses", "wtcachefs_read_misses_total", "counter",
     "Read requests served wholly from the origin."},
    {"write_hits", "wtcachefs_write_hits_total", "counter",
     "Blocks written to the origin and to a cached copy."},
    {"write_misses", "wtcachefs_write_misses_total", "counter",
     "Blocks written that were not cached before."},
    {"promotions", "wtcachefs_promotions_total", "counter",
     "Blocks copied into the cache on a read miss."},
    {"demotions", "wtcachefs_demotions_total", "counter",
     "Blocks evicted by the replacement policy."},
    {"bypasses", "wtcachefs_bypasses_total", "counter",
     "Blocks not cached: no free slot, past the sequential cutoff, or degraded."},
    {"invalidations", "wtcachefs_invalidations_total", "counter",
     "Cached blocks dropped because their data changed or was discarded."},
    {"corrupt_blocks", "wtcachefs_corrupt_blocks_total", "counter",
     "Cached blocks whose data failed its checksum: served from the origin and dropped."},
    {"recovered_blocks", "wtcachefs_recovered_blocks_total", "counter",
     "Cached blocks a crash left in doubt that matched the origin after the restart, and "
     "were kept."},
    {"racy_drops", "wtcachefs_racy_drops_total", "counter",
     "Files whose cached blocks were dropped: captured within one tick of coarse origin "
     "timestamps, which cannot show a change made in the same tick."},
    {"deleted_files", "wtcachefs_deleted_files_total", "counter",
     "Files whose cached blocks and record were dropped because the origin's last link to "
     "them went."},
    {"cache_read_errors", "wtcachefs_cache_read_errors_total", "counter",
     "Failed reads of the cache device."},
    {"cache_write_errors", "wtcachefs_cache_write_errors_total", "counter",
     "Failed writes of the cache device."},
    {"origin_read_errors", "wtcachefs_origin_read_errors_total", "counter",
     "Failed reads of the origin."},
    {"origin_write_errors", "wtcachefs_origin_write_errors_total", "counter",
     "Failed writes of the origin."},
    {"bytes_read_from_cache", "wtcachefs_read_from_cache_bytes_total", "counter",
     "Bytes read from the cache device."},
    {"bytes_read_from_origin", "wtcachefs_read_from_origin_bytes_total", "counter",
     "Bytes read from the origin."},
    {"used_blocks", "wtcachefs_cache_used_blocks", "gauge", "Cache blocks holding data."},
    {"total_blocks", "wtcachefs_cache_blocks", "gauge", "Cache blocks in all."},
    {"block_size", "wtcachefs_cache_block_size_bytes", "gauge", "Size of one cache block."},
    {"index_memory_bytes", "wtcachefs_index_memory_bytes", "gauge",
     "RAM the block index and its replacement policy hold."},
    {"resident_files", "wtcachefs_resident_files", "gauge",
     "Files whose cache records are held in RAM: those in use and the most recently used."},
    {"space_limit_blocks", "wtcachefs_cache_space_limit_blocks", "gauge",
     "Cache blocks that may hold data now: fewer than all while a default-sized cache's "
     "file system is near its free-space floor."},
    {"mrc_reads", "wtcachefs_mrc_reads", "gauge",
     "Block reads the miss-ratio curve describes: since the mount or its last reset."},
    {"mrc_measured_hit_ratio", "wtcachefs_mrc_measured_hit_ratio", "gauge",
     "Of the block reads the miss-ratio curve describes, the share the cache served."},
    {"mrc_sampling_rate", "wtcachefs_mrc_sampling_rate", "gauge",
     "The share of blocks whose reuse distances the miss-ratio curve samples."},
    {"mrc_sampled_blocks", "wtcachefs_mrc_sampled_blocks", "gauge",
     "Blocks the miss-ratio curve tracks."},
    {"mrc_memory_bytes", "wtcachefs_mrc_memory_bytes", "gauge", "RAM the miss-ratio curve holds."},
    {"mrc_working_set_bytes", "wtcachefs_mrc_working_set_bytes", "gauge",
     "The LRU cache size past which the miss-ratio curve gains less than one point."},
};

// Per-size miss-ratio curve fields: "<prefix><cache bytes>=<ratio>".
struct SizedMetric {
  const char* prefix;
  const char* name;
  const char* help;
};

constexpr SizedMetric kSizedMetrics[] = {
    {"mrc_hit_ratio_", "wtcachefs_mrc_hit_ratio",
     "Predicted read hit ratio of a cache of cache_bytes under the view's policy, over the "
     "reads since the mount or the curve's last reset."},
    {"mrc_lru_hit_ratio_", "wtcachefs_mrc_lru_hit_ratio",
     "Predicted read hit ratio of an LRU cache of cache_bytes, over the same reads."},
};

// A label value with \, " and newline escaped.
std::string Escape(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped.push_back(c);
  }
  return escaped;
}

}  // namespace

std::map<std::string, std::string> ParseStatusLine(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    const size_t eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

std::string RenderPrometheus(const std::map<std::string, std::string>& fields,
                             const std::string& view) {
  const std::string label = "{view=\"" + Escape(view) + "\"}";
  std::ostringstream out;
  for (const Metric& metric : kMetrics) {
    const auto it = fields.find(metric.field);
    if (it == fields.end()) continue;
    out << "# HELP " << metric.name << " " << metric.help << "\n"
        << "# TYPE " << metric.name << " " << metric.type << "\n"
        << metric.name << label << " " << it->second << "\n";
  }
  const auto policy = fields.find("mrc_policy");
  for (const SizedMetric& metric : kSizedMetrics) {
    std::map<uint64_t, std::string> by_size;
    const std::string prefix = metric.prefix;
    for (const auto& [field, value] : fields) {
      if (!field.starts_with(prefix)) continue;
      by_size[std::strtoull(field.c_str() + prefix.size(), nullptr, 10)] = value;
    }
    if (by_size.empty()) continue;
    out << "# HELP " << metric.name << " " << metric.help << "\n"
        << "# TYPE " << metric.name << " gauge\n";
    for (const auto& [bytes, value] : by_size) {
      out << metric.name << "{view=\"" << Escape(view) << "\"";
      if (policy != fields.end() && prefix == "mrc_hit_ratio_") {
        out << ",policy=\"" << Escape(policy->second) << "\"";
      }
      out << ",cache_bytes=\"" << bytes << "\"} " << value << "\n";
    }
  }
  if (const auto mode = fields.find("mode"); mode != fields.end()) {
    out << "# HELP wtcachefs_degraded 1 while the view serves from the origin only after "
           "cache errors.\n"
        << "# TYPE wtcachefs_degraded gauge\n"
        << "wtcachefs_degraded" << label << " " << (mode->second == "degraded" ? 1 : 0) << "\n";
  }
  if (const auto transport = fields.find("transport"); transport != fields.end()) {
    out << "# HELP wtcachefs_transport_info How FUSE requests reach the view: io_uring or "
           "dev_fuse.\n"
        << "# TYPE wtcachefs_transport_info gauge\n"
        << "wtcachefs_transport_info{view=\"" << Escape(view) << "\",transport=\""
        << Escape(transport->second) << "\"} 1\n";
  }
  return out.str();
}

}  // namespace wtcachefs
