// SPDX-License-Identifier: Apache-2.0
// Fuzzes the -o mount option parsing: SplitMountOptions, ParseSize and
// ApplyMountOptions, and ParseTunable (the `wtcachefs tune` / wtcachefs.tune
// attribute value, which any process that may write the view's root sends).
// The input is one -o list (or one size, or one tune assignment).
//
// Properties checked besides "no crash, no undefined behaviour, no leak":
//  - ParseSize agrees with a plain reference parser (digits, then at most one of
//    K M G T in either case; no overflow) on acceptance and value;
//  - SplitMountOptions gives no empty option, and joining its options again with
//    escaping and splitting gives the same options;
//  - applying a list is the same as applying its options one at a time, in
//    order: the same success and the same Options;
//  - every kernel option passed on is one that -o passes on unchanged again;
//  - a tune assignment that parses changes only settings that can be tuned.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/mount_options.h"
#include "cli/tunables.h"
#include "fuzz_support.h"

namespace wtcachefs {
namespace {

// The documented size syntax, written as plainly as possible.
std::optional<uint64_t> ReferenceSize(const std::string& text) {
  size_t digits = 0;
  uint64_t number = 0;
  for (; digits < text.size() && text[digits] >= '0' && text[digits] <= '9'; ++digits) {
    const uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
    if (number > (UINT64_MAX - digit) / 10) return std::nullopt;
    number = number * 10 + digit;
  }
  if (digits == 0) return std::nullopt;
  if (digits == text.size()) return number;
  if (digits + 1 != text.size()) return std::nullopt;
  const size_t unit = std::string_view("kKmMgGtT").find(text.back());
  if (unit == std::string_view::npos) return std::nullopt;
  const unsigned shift = 10 * static_cast<unsigned>(unit / 2 + 1);  // K: 10 ... T: 40
  if (number > (UINT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

void CheckSize(const std::string& text) {
  const Result<uint64_t> parsed = ParseSize("cache_size", text);
  const std::optional<uint64_t> expected = ReferenceSize(text);
  FUZZ_CHECK(parsed.ok() == expected.has_value(), "ParseSize acceptance of '" + text + "'");
  if (parsed.ok()) {
    FUZZ_CHECK(parsed.value() == *expected, "ParseSize value of '" + text + "'");
  } else {
    FUZZ_CHECK(parsed.status().message().find("cache_size=") != std::string::npos,
               "ParseSize error does not name the option");
  }
}

void CheckSplit(const std::string& list) {
  const std::vector<std::string> options = SplitMountOptions(list);
  for (const std::string& option : options) {
    FUZZ_CHECK(!option.empty(), "an empty option from '" + list + "'");
  }
  FUZZ_CHECK(SplitMountOptions(fuzz::JoinMountOptions(options)) == options,
             "split, join, split changed '" + list + "'");
}

// A valid Options as main() would have after the paths.
Options Base() {
  Options options;
  options.origin = "/srv/slow";
  options.cache = "/mnt/fast/cache";
  options.view = "/srv/view";
  return options;
}

void CheckApply(const std::string& list) {
  Options whole = Base();
  const Status whole_status = ApplyMountOptions(list, whole);

  Options one_by_one = Base();
  Status one_status = Status::Ok();
  for (const std::string& option : SplitMountOptions(list)) {
    one_status = ApplyMountOptions(fuzz::EscapeMountOption(option), one_by_one);
    if (!one_status.ok()) break;
  }
  FUZZ_CHECK(whole_status.ok() == one_status.ok(),
             "a list and its options one at a time disagree on '" + list + "'");
  if (!whole_status.ok()) {
    FUZZ_CHECK(!whole_status.message().empty(), "an error without a message");
    FUZZ_CHECK(whole_status.message() == one_status.message(),
               "a list and its options one at a time fail differently");
    return;
  }
  FUZZ_CHECK(fuzz::SameOptions(whole, one_by_one),
             "a list and its options one at a time give other options: '" + list + "'");

  for (const std::string& kernel_option : whole.kernel_options) {
    Options again = Base();
    const Status s = ApplyMountOptions(fuzz::EscapeMountOption(kernel_option), again);
    FUZZ_CHECK(s.ok() && again.kernel_options == std::vector<std::string>{kernel_option},
               "kernel option '" + kernel_option + "' is not passed on as itself");
  }
  FUZZ_CHECK(whole.block_size == 0 || whole.block_size <= (4u << 20),
             "block_size past 4M accepted");
  FUZZ_CHECK(whole.promote_after >= 1 && whole.promote_after <= 255,
             "promote_after out of range accepted");
  // Validate() runs on whatever the options gave; it must not trip over it.
  const Status valid = whole.Validate();
  FUZZ_CHECK(valid.ok() || !valid.message().empty(), "Validate() error without a message");
}

void CheckTune(const std::string& assignment) {
  const Result<Tunable> tunable = ParseTunable(assignment);
  if (!tunable.ok()) {
    FUZZ_CHECK(!tunable.status().message().empty(), "a tune error without a message");
    return;
  }
  // Everything but the tunable settings keeps its default.
  Options expected;
  const Options& got = tunable.value().value;
  expected.sequential_cutoff = got.sequential_cutoff;
  expected.promote_after = got.promote_after;
  expected.write_allocate = got.write_allocate;
  expected.log_level = got.log_level;
  FUZZ_CHECK(fuzz::SameOptions(expected, got),
             "tuning '" + assignment + "' changes a setting that needs a remount");
}

}  // namespace
}  // namespace wtcachefs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  wtcachefs::CheckSize(input);
  wtcachefs::CheckSplit(input);
  wtcachefs::CheckApply(input);
  wtcachefs::CheckTune(input);
  return 0;
}
