#!/usr/bin/env bash
# Builds wtcachefs and runs the whole test suite twice: a normal build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build. Needs root (tests mount
# real FUSE views) and the packages from install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() {
  local build_dir=$1
  # Each test mounts its own temporary directories, so tests run in parallel.
  (cd "$build_dir" && ctest --output-on-failure --timeout 900 -j 2)
}

BUILD_DIR=build SANITIZE=0 bash scripts/build.sh
run_suite build

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
BUILD_DIR=build-asan SANITIZE=1 bash scripts/build.sh
run_suite build-asan
