#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (tests/fuzz, clang) and runs each for a while:
# the command line, the -o mount options and tune assignments, and the
# metadata records a cache is read back from. Fails if any target finds a crash,
# undefined behaviour, a leak, a hang or a broken round-trip property; prints one
# summary line per target. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh                       every target, FUZZ_SECONDS each
#   bash scripts/fuzz.sh fuzz_meta_records     only the targets named
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 30)
#   FUZZ_BUILD_DIR   build directory (default build-fuzz); it keeps the corpus
#                    each target grows (corpus/TARGET), the inputs that broke a
#                    target (artifacts/TARGET) and each run's log (logs/TARGET.log)
#   JOBS             parallel compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}
all_targets=(fuzz_command_line fuzz_mount_options fuzz_meta_records)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found; run 'bash scripts/install-deps.sh' as root first" >&2
  exit 1
fi

echo "fuzz.sh: building in $build_dir (clang, libFuzzer, ASan + UBSan)"
cmake -S tests/fuzz -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build_dir" --parallel "$jobs" --target "${targets[@]}"

# Leak checking where LeakSanitizer works (under ptrace it would kill the fuzzer).
source scripts/lsan-probe.sh
detect_leaks=$(lsan_works "$build_dir/lsan-probe" clang++)
# Our own settings, not a caller's (a log_path would hide the reports). A smaller
# quarantine than ASan's 256 MiB doubles the speed of the allocation-heavy
# command line target; use-after-free is still found within 16 MiB of frees.
export ASAN_OPTIONS="detect_leaks=$detect_leaks:quarantine_size_mb=16:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
unset LSAN_OPTIONS

failed=0
summaries=()
for target in "${targets[@]}"; do
  corpus=$build_dir/corpus/$target
  artifacts=$build_dir/artifacts/$target/
  log=$build_dir/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -detect_leaks="$detect_leaks" -artifact_prefix="$artifacts")
  dict=tests/fuzz/dict/${target#fuzz_}.dict
  [ -f "$dict" ] && flags+=(-dict="$dict")
  echo "fuzz.sh: $target for ${seconds}s (log: $log)"
  started=$build_dir/logs/$target.started
  touch "$started"  # inputs newer than this are this run's findings
  # New inputs go to the build's corpus; the committed seeds are only read.
  status=0
  "$build_dir/$target" "${flags[@]}" "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1 ||
    status=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\)\/.*/cov \1, features \2, corpus \3/p' \
        <<<"$done_line")
  if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
    summaries+=("$target: ok, ${runs:-?} runs (${rate:-?}/s), ${cov:-no coverage line}")
  else
    failed=1
    summaries+=("$target: FAILED (exit $status) after ${runs:-?} runs; see $log")
    echo "---- last lines of $log"
    tail -n 60 "$log"
    echo "---- inputs that broke $target (reproduce: $build_dir/$target FILE):"
    find "$artifacts" -type f -newer "$started" -printf '  %p\n' 2>/dev/null || true
  fi
done

printf '\nfuzz.sh: summary\n'
printf '  %s\n' "${summaries[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: FAILED: a fuzz target found a problem (above)" >&2
  exit 1
fi
