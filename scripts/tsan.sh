#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the engine with ThreadSanitizer (build-tsan/) and runs the engine's
# concurrency, contract and crash tests under it. Forking tests run one at a
# time, and the ones that fork again and again after the parent has run an
# engine (random kill points, power loss) are left to the normal and ASan runs:
# TSan's own bookkeeping fails after such forks ("dup thread with used id").
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWTCACHEFS_TSAN=ON -DWTCACHEFS_WERROR=ON
cmake --build build-tsan -j "$(nproc)" --target \
  block_index_test cache_engine_test engine_stress_test engine_persistence_test \
  uring_backend_test

export TSAN_OPTIONS="halt_on_error=1 die_after_fork=0 suppressions=$PWD/tests/tsan.supp"
for test in block_index_test cache_engine_test engine_stress_test uring_backend_test; do
  ./build-tsan/tests/$test
done
for name in $(./build-tsan/tests/engine_persistence_test --gtest_list_tests |
             awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}' | grep -v RandomKillPoints); do
  ./build-tsan/tests/engine_persistence_test --gtest_filter="$name"
done
echo "tsan.sh: all engine tests passed under ThreadSanitizer"
