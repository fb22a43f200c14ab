// SPDX-License-Identifier: Apache-2.0
// wtcachefs-sim: replays block-access traces through wtcachefs's replacement
// policies and Bélády's optimal policy, and generates the standard traces.
#include <CLI/CLI.hpp>
#include <iostream>

#include "sim/mrc_check.h"
#include "sim/simulator.h"

namespace {

using wtcachefs::sim::NamedTrace;

int Fail(const std::string& message) {
  std::cerr << "wtcachefs-sim: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wtcachefs-sim: hit ratios of wtcachefs's cache policies, and of the optimal "
               "offline policy, on block-access traces.",
               "wtcachefs-sim"};
  app.require_subcommand(1);
  uint64_t capacity = 10000;
  uint64_t accesses = 1000000;
  uint64_t seed = 1;
  uint32_t promote_after = 1;

  CLI::App* report = app.add_subcommand(
      "report", "run the standard traces (Zipf, loop, hot set with scans, VM mix) and print a "
                "Markdown table");
  report->add_option("--capacity", capacity, "cache size in blocks (default 10000)");
  report->add_option("--accesses", accesses, "accesses per trace (default 1000000)");
  report->add_option("--seed", seed, "random seed (default 1)");
  report->add_option("--promote-after", promote_after,
                     "promote a block on its Nth miss (default 1)");

  bool mrc = false;
  std::string policy_name = "all";
  report->add_flag("--mrc", mrc,
                   "check the live miss-ratio curve instead: for each trace and policy, the "
                   "exact hit ratio at 1/4x to 8x the capacity beside the daemon's sampled "
                   "estimate");
  report->add_option("--policy", policy_name, "with --mrc: arc, 2q, lru or all (default all)");

  std::vector<std::string> files;
  CLI::App* run = app.add_subcommand("run", "replay trace files (one block number per line)");
  run->add_flag("--mrc", mrc,
                "check the live miss-ratio curve instead: the exact hit ratio at 1/4x to 8x "
                "the capacity beside the daemon's sampled estimate");
  run->add_option("--policy", policy_name, "with --mrc: arc, 2q, lru or all (default all)");
  run->add_option("trace", files, "trace files")->required();
  run->add_option("--capacity", capacity, "cache size in blocks (default 10000)");
  run->add_option("--promote-after", promote_after,
                  "promote a block on its Nth miss (default 1)");

  std::string kind;
  std::string output;
  CLI::App* generate = app.add_subcommand(
      "generate", "write one of the standard traces (zipf-0.8, zipf-1.0, zipf-1.2, loop-1.1x, "
                  "hot+scans, vm-mix) for a cache of --capacity blocks");
  generate->add_option("kind", kind, "the trace")->required();
  generate->add_option("output", output, "the trace file to write")->required();
  generate->add_option("--capacity", capacity, "cache size in blocks (default 10000)");
  generate->add_option("--accesses", accesses, "accesses (default 1000000)");
  generate->add_option("--seed", seed, "random seed (default 1)");

  CLI11_PARSE(app, argc, argv);
  if (capacity == 0) return Fail("--capacity must be at least 1");
  std::vector<wtcachefs::PolicyKind> policies;
  if (policy_name == "all") {
    policies = {wtcachefs::PolicyKind::kLru, wtcachefs::PolicyKind::kTwoQueue,
                wtcachefs::PolicyKind::kArc};
  } else if (const auto named_policy = wtcachefs::PolicyByName(policy_name)) {
    policies = {*named_policy};
  } else {
    return Fail("unknown --policy '" + policy_name + "': give arc, 2q, lru or all");
  }
  const auto print_mrc = [&](const std::vector<NamedTrace>& traces) {
    std::vector<wtcachefs::sim::NamedMrcChecks> summary;
    for (const NamedTrace& named : traces) {
      summary.push_back({named.name, {}});
      for (const wtcachefs::PolicyKind policy : policies) {
        summary.back().checks.push_back(
            wtcachefs::sim::CheckMrc(named.trace, capacity, policy, promote_after));
        std::cout << "### " << named.name << ", " << wtcachefs::PolicyName(policy) << "\n\n"
                  << wtcachefs::sim::MrcCheckTable(summary.back().checks.back()) << "\n";
      }
    }
    std::cout << "### Summary: absolute error of the predicted hit ratio at 1/4x to 8x\n\n"
              << wtcachefs::sim::MrcSummaryTable(summary);
  };

  if (*report && mrc) {
    std::cout << "Cache of " << capacity << " blocks, " << accesses << " accesses per trace.\n\n";
    print_mrc(wtcachefs::sim::StandardTraces(capacity, accesses, seed));
    return 0;
  }
  if (*report) {
    std::cout << "Cache of " << capacity << " blocks, " << accesses << " accesses per trace"
              << (promote_after > 1 ? ", promotion on miss " + std::to_string(promote_after)
                                    : std::string())
              << ".\n\n"
              << wtcachefs::sim::ReportTable(
                     wtcachefs::sim::StandardTraces(capacity, accesses, seed), capacity,
                     promote_after);
    return 0;
  }
  if (*generate) {
    for (NamedTrace& named : wtcachefs::sim::StandardTraces(capacity, accesses, seed)) {
      if (named.name != kind) continue;
      const wtcachefs::Status written = wtcachefs::sim::WriteTrace(named.trace, output);
      return written.ok() ? 0 : Fail(written.message());
    }
    return Fail("unknown trace '" + kind +
                "': give zipf-0.8, zipf-1.0, zipf-1.2, loop-1.1x, hot+scans or vm-mix");
  }
  std::vector<NamedTrace> traces;
  for (const std::string& file : files) {
    auto trace = wtcachefs::sim::ReadTrace(file);
    if (!trace.ok()) return Fail(trace.status().message());
    traces.push_back({file, "", std::move(trace).value()});
  }
  if (mrc) {
    print_mrc(traces);
    return 0;
  }
  std::cout << wtcachefs::sim::ReportTable(traces, capacity, promote_after);
  return 0;
}
