// SPDX-License-Identifier: Apache-2.0
// The status of a view in the Prometheus text exposition format (version 0.0.4),
// for node_exporter's textfile collector or any scraper: one counter per
// cumulative status field (`wtcachefs_read_hits_total`, ...) and gauges for the
// cache's size and mode, each sample labelled with the view.
#pragma once

#include <map>
#include <string>

namespace wtcachefs {

// `fields`: the name=value fields of the view's status line.
std::string RenderPrometheus(const std::map<std::string, std::string>& fields,
                             const std::string& view);

// Splits a status line ("mode=normal block_size=65536 ...") into its fields.
std::map<std::string, std::string> ParseStatusLine(const std::string& line);

}  // namespace wtcachefs
