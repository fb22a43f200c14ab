// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseCommandLine: the input is argv after "wtcachefs", one argument per
// NUL-separated piece (a real argv cannot hold a NUL, so every argv is reachable).
//
// Beyond "no crash, no undefined behaviour, no leak, no exception escapes":
//  - an exit code is 0 (--help, --version) or the usage code, and a usage error
//    is printed as one line starting with "wtcachefs: " (when no argument itself
//    holds a newline);
//  - a successful parse printed nothing, -d implies -f, and Validate() takes it.
//
// CLI11 prints --help and --version to std::cout and usage errors go to
// std::cerr; neither stops the process. Both streams are captured here, so the
// fuzzer neither floods the terminal nor misses a message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "fuzz_support.h"

namespace wtcachefs {
namespace {

constexpr size_t kMaxArguments = 48;

struct Parsed {
  std::optional<int> exit_code;
  Options options;
  std::string out;
  std::string err;
};

Parsed Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"wtcachefs"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);  // as the kernel passes it
  std::ostringstream out, err;
  std::streambuf* const saved_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const saved_err = std::cerr.rdbuf(err.rdbuf());
  Parsed parsed;
  parsed.exit_code =
      ParseCommandLine(static_cast<int>(argv.size() - 1), argv.data(), parsed.options);
  std::cout.rdbuf(saved_out);
  std::cerr.rdbuf(saved_err);
  parsed.out = out.str();
  parsed.err = err.str();
  return parsed;
}

}  // namespace
}  // namespace wtcachefs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wtcachefs;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= input.size() && args.size() < kMaxArguments) {
    size_t end = input.find('\0', start);
    if (end == std::string::npos) end = input.size();
    args.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  if (size == 0) args.clear();  // no arguments at all

  const Parsed first = Parse(args);

  if (first.exit_code) {
    const int code = *first.exit_code;
    FUZZ_CHECK(code == kExitOk || code == kExitUsage, "exit code " + std::to_string(code));
    if (code == kExitOk) {
      FUZZ_CHECK(!first.out.empty() && first.err.empty(),
                 "--help or --version printed nothing, or printed to stderr");
    } else {
      const bool newline_in_args = std::any_of(args.begin(), args.end(), [](const auto& a) {
        return a.find('\n') != std::string::npos;
      });
      FUZZ_CHECK(first.err.rfind("wtcachefs: ", 0) == 0, "usage error: " + first.err);
      FUZZ_CHECK(newline_in_args || std::count(first.err.begin(), first.err.end(), '\n') == 1,
                 "usage error is not one line: " + first.err);
    }
  } else {
    FUZZ_CHECK(first.out.empty() && first.err.empty(),
               "a successful parse printed: " + first.out + first.err);
    FUZZ_CHECK(!args.empty(), "parsed an empty command line");
    FUZZ_CHECK(!first.options.debug || first.options.foreground, "-d without -f");
    // Validate() is the next step in main(); it must take whatever parsed.
    const Status valid = first.options.Validate();
    FUZZ_CHECK(valid.ok() || !valid.message().empty(), "Validate() error without a message");
  }
  return 0;
}
