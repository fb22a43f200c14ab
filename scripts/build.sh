#!/usr/bin/env bash
# Configures and builds wtcachefs.
#   BUILD_DIR   build directory (default: build)
#   SANITIZE=1  AddressSanitizer + UndefinedBehaviorSanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
sanitize=OFF
if [ "${SANITIZE:-0}" = 1 ]; then sanitize=ON; fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWTCACHEFS_SANITIZE="$sanitize"
cmake --build "$build_dir" -j "$(nproc)"
