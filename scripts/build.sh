#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds wtcachefs with CMake.
#
#   bash scripts/build.sh              RelWithDebInfo build in build/
#   bash scripts/build.sh --demo       only the wtcachefs binary (what scripts/demo.sh runs)
#   bash scripts/build.sh --sanitize   AddressSanitizer + UBSan build in build-asan/
#
# Environment:
#   BUILD_DIR   build directory (default build/, or build-asan/ with --sanitize)
#   SANITIZE=1  same as --sanitize
#   JOBS        parallel compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=${SANITIZE:-0}
targets=()
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=1 ;;
    --demo) targets=(--target wtcachefs) ;;
    -h|--help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$arg' (try --help)" >&2; exit 1 ;;
  esac
done

if [ "$sanitize" = 1 ]; then
  build_dir=${BUILD_DIR:-build-asan}
  sanitize_flag=ON
else
  build_dir=${BUILD_DIR:-build}
  sanitize_flag=OFF
fi
jobs=${JOBS:-2}

if ! command -v cmake >/dev/null; then
  echo "build.sh: cmake not found; run 'bash scripts/install-deps.sh' as root first" >&2
  exit 1
fi

echo "build.sh: building in $build_dir (sanitizers: $sanitize_flag, $jobs jobs)"
cmake -S . -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWTCACHEFS_SANITIZE="$sanitize_flag" \
  -DWTCACHEFS_WERROR=ON
cmake --build "$build_dir" --parallel "$jobs" "${targets[@]}"
echo "build.sh: built $build_dir/wtcachefs"
