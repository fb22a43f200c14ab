#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds wtcachefs and runs the whole test suite twice: in the normal build
# (build/), then in an AddressSanitizer + UndefinedBehaviorSanitizer build
# (build-asan/); in between, a short run of each libFuzzer target
# (scripts/fuzz.sh, build-fuzz/). Needs root (the integration tests mount real
# FUSE views) and the packages from scripts/install-deps.sh. Exits non-zero on
# any failure.
#
# The mounts of the normal build's run travel over /dev/fuse, those of the
# sanitizer build's run over FUSE over io_uring where the kernel has it: the
# host's switch (/sys/module/fuse/parameters/enable_uring) is set for each run
# and restored afterwards, also on failure or interruption, and every mount
# checks that it got the transport of its run (WTCACHEFS_EXPECT_TRANSPORT).
#
# Environment:
#   BUILD_DIR        normal build directory (default build)
#   ASAN_BUILD_DIR   sanitizer build directory (default build-asan)
#   FUZZ_BUILD_DIR   fuzz target build directory (default build-fuzz)
#   FUZZ_SECONDS     seconds each fuzz target runs (default 20)
#   JOBS             compile jobs and parallel tests (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
asan_build_dir=${ASAN_BUILD_DIR:-build-asan}
fuzz_build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=${JOBS:-2}
started=$SECONDS

banner() { printf '\n==== %s\n' "$*"; }
elapsed() { printf '%dm%02ds' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

# Every test mounts its own temporary directories, so tests run in parallel; the
# ones that place /usr/local/bin/wtcachefs for mount(8) hold a CTest resource
# lock (tests/integration/cli.cmake), so they never run at the same time.
run_suite() {  # run_suite BUILD_DIR: runs every test, fails if any failed
  local dir=$1
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs")
}

uring_switch=/sys/module/fuse/parameters/enable_uring
uring_saved=
if [ -w "$uring_switch" ]; then
  uring_saved=$(cat "$uring_switch")
  trap 'echo "$uring_saved" | sed "s/Y/1/;s/N/0/" >"$uring_switch"' EXIT
fi
# use_transport dev_fuse|io_uring BUILD_DIR: the transport of the mounts of
# the next run, of the tests built in BUILD_DIR.
use_transport() {
  local want=$1 dir=$2
  if [ "$want" = io_uring ] &&
     { [ -z "$uring_saved" ] || ! grep -q '^WTCACHEFS_FUSE_HAS_URING:INTERNAL=1' "$dir/CMakeCache.txt"; }; then
    echo "test.sh: note: no FUSE over io_uring here (kernel or libfuse): this run's mounts" \
         "travel over /dev/fuse as well"
    want=dev_fuse
  fi
  if [ -n "$uring_saved" ]; then
    if [ "$want" = io_uring ]; then echo 1 >"$uring_switch"; else echo 0 >"$uring_switch"; fi
  fi
  export WTCACHEFS_EXPECT_TRANSPORT=$want
}

banner "normal build ($build_dir)"
BUILD_DIR=$build_dir SANITIZE=0 JOBS=$jobs bash scripts/build.sh
use_transport dev_fuse "$build_dir"
banner "test suite in $build_dir (mounts over $WTCACHEFS_EXPECT_TRANSPORT)"
run_suite "$build_dir"
banner "normal build passed ($(elapsed))"

banner "fuzzing: each parser of untrusted input for ${fuzz_seconds}s ($fuzz_build_dir)"
FUZZ_BUILD_DIR=$fuzz_build_dir FUZZ_SECONDS=$fuzz_seconds JOBS=$jobs bash scripts/fuzz.sh
banner "fuzzing passed ($(elapsed))"

banner "AddressSanitizer + UndefinedBehaviorSanitizer build ($asan_build_dir)"
BUILD_DIR=$asan_build_dir SANITIZE=1 JOBS=$jobs bash scripts/build.sh

# Leak checking where LeakSanitizer works (scripts/lsan-probe.sh).
source scripts/lsan-probe.sh
detect_leaks=$(lsan_works "$asan_build_dir/lsan-probe" "${CXX:-c++}")

# Sanitizer reports also go to files, so that reports from detached daemons
# (whose stderr is /dev/null) are not lost.
log_dir=$(readlink -f "$asan_build_dir")/sanitizer-logs
rm -rf "$log_dir"
mkdir -p "$log_dir"
chmod 1777 "$log_dir"  # tests that drop privileges can write reports too
# (ASan, UBSan and LSan share one log_path; each process writes report.PID.)
export ASAN_OPTIONS="detect_leaks=$detect_leaks:abort_on_error=1:log_path=$log_dir/report"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$log_dir/report"
export LSAN_OPTIONS="log_path=$log_dir/report"

use_transport io_uring "$asan_build_dir"
banner "test suite in $asan_build_dir (detect_leaks=$detect_leaks, mounts over $WTCACHEFS_EXPECT_TRANSPORT)"
suite_status=0
run_suite "$asan_build_dir" || suite_status=$?

if compgen -G "$log_dir/*" >/dev/null; then
  banner "sanitizer reports"
  for report in "$log_dir"/*; do
    echo "--- $report"
    cat "$report"
  done
  echo "test.sh: FAILED: the sanitizers reported errors (above)" >&2
  exit 1
fi
if [ "$suite_status" -ne 0 ]; then
  echo "test.sh: FAILED: the sanitizer build's test suite failed" >&2
  exit "$suite_status"
fi
banner "all tests passed in both builds ($(elapsed))"
