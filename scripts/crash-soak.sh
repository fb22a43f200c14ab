#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The long crash soak of wtcachefs: 10,000 SIGKILL points across directory and
# image mode. Run by hand as root (it mounts FUSE views); not part of CI.
#
#   bash scripts/crash-soak.sh [--total N] [--state-dir DIR] [--seed S]
#
# Each point kills the daemon with SIGKILL 20-500 ms after a writer through the
# view (buffered and O_DIRECT pwrites, fsync and fdatasync) and a writer
# changing the origin behind the mount have started, mounts the same origin
# and cache again, and checks that every file read through the view (O_DIRECT
# and buffered) equals the origin byte for byte and that every write
# acknowledged through the view, fsynced or not, is on the origin. It reports
# how warm each remount came back (used_blocks after it, once every file has
# been opened and the blocks in doubt compared with origin, over used_blocks
# before the kill). Points alternate directory and image mode; every 20 points
# both views are also unmounted cleanly and checked. tests/soak/crash_soak.cc
# and docs/architecture.md ("Warm after a crash") say more.
#
# It runs build/tests/wtcachefs_crash_soak in runs of up to 1,000 points until
# --total points (default 10,000) are summed in DIR/soak-state.txt (DIR:
# --state-dir, default the current directory): stop it (^C) and start it
# again at will. 1.3 to 2 s a point on a two-CPU machine: 10,000 points take
# four to five and a half hours. It stops at the first mismatch or failure,
# keeping that point's directories (the report says where). It builds
# nothing: first run
#   cmake --build build --target wtcachefs wtcachefs_crash_soak
#
# Environment: BUILD_DIR (default build/ in the repository), TMPDIR (where the
# origins, caches and views are made, default /tmp).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
total=10000
state_dir=.
seed=
while [ $# -gt 0 ]; do
  case $1 in
    --total) total=$2; shift 2 ;;
    --state-dir) state_dir=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "crash-soak.sh: unknown argument '$1' (try --help)" >&2; exit 1 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "crash-soak.sh: run as root (the soak mounts FUSE views and detaches dead ones)" >&2
  exit 1
fi
build_dir=${BUILD_DIR:-$repo/build}
binary=$build_dir/wtcachefs
soak=$build_dir/tests/wtcachefs_crash_soak
for f in "$binary" "$soak"; do
  if [ ! -x "$f" ]; then
    echo "crash-soak.sh: $f not found; build it first:" >&2
    echo "  cmake --build $build_dir --target wtcachefs wtcachefs_crash_soak" >&2
    exit 1
  fi
done
mkdir -p "$state_dir"
state=$state_dir/soak-state.txt
seed=${seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# The soak unmounts its views on every path; should it itself be killed, its
# daemons die with it and only their dead mounts, below this directory, remain.
work=$(mktemp -d "${TMPDIR:-/tmp}/wtcachefs-crash-soak-runs-XXXXXX")
cleanup() {
  awk -v dir="$work/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mount_point; do umount -l "$mount_point" || true; done
  rmdir "$work" 2>/dev/null || echo "crash-soak.sh: kept $work for inspection" >&2
}
trap cleanup EXIT

points_done() {
  local n=0
  [ -f "$state" ] && n=$(awk '$1 == "points" { print $2 }' "$state")
  echo "${n:-0}"
}

echo "crash-soak.sh: to $total points, state in $state, seed $seed"
while [ "$(points_done)" -lt "$total" ]; do
  run=$((total - $(points_done)))
  [ "$run" -gt 1000 ] && run=1000
  "$soak" --points "$run" --state "$state" --binary "$binary" --workdir "$work" --seed "$seed"
done
echo "crash-soak.sh: $(points_done) points in total ($state)"
