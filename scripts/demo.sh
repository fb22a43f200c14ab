#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A short demonstration of what wtcachefs does: mount a view of an origin
# directory with a cache directory, work through the view, and show that every
# write is on the origin. Everything happens under a new temporary directory,
# which is unmounted and removed on exit, also when a step fails.
#
#   bash scripts/demo.sh
#
# Environment:
#   WTCACHEFS   the binary to run (default: $BUILD_DIR/wtcachefs, BUILD_DIR=build)
#
# Exits 0 when every check passed, 1 otherwise.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

binary=${WTCACHEFS:-${BUILD_DIR:-build}/wtcachefs}
if [ ! -x "$binary" ]; then
  echo "demo.sh: $binary not found; build it first with 'bash scripts/build.sh'" >&2
  exit 1
fi
binary=$(readlink -f "$binary")
for tool in fusermount3 findmnt mountpoint cmp sha256sum; do
  if ! command -v "$tool" >/dev/null; then
    echo "demo.sh: '$tool' not found; run 'bash scripts/install-deps.sh' as root" >&2
    exit 1
  fi
done

demo=$(mktemp -d "${TMPDIR:-/tmp}/wtcachefs-demo.XXXXXX")
origin=$demo/origin   # the slow, authoritative storage
cache=$demo/cache     # the fast device
view=$demo/view       # what users and applications see
mkdir "$origin" "$cache" "$view"

unmount_view() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    mountpoint -q "$view" || return 0
    fusermount3 -u "$view" 2>/dev/null || sleep 0.5
  done
  mountpoint -q "$view" || return 0
  fusermount3 -u -z "$view" 2>/dev/null || umount -l "$view" 2>/dev/null || true
  ! mountpoint -q "$view"
}

cleanup() {
  local status=$?
  cd /
  if ! unmount_view; then
    echo "demo.sh: could not unmount $view; left $demo in place" >&2
    exit 1
  fi
  # Never removes anything through a mount: the view is unmounted by now.
  rm -rf --one-file-system "$demo"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "demo.sh: step failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

checks=0
failures=0
check() {  # check DESCRIPTION COMMAND...
  local description=$1
  shift
  checks=$((checks + 1))
  if "$@" >/dev/null 2>&1; then
    printf '  ok    %s\n' "$description"
  else
    printf '  FAIL  %s\n' "$description"
    failures=$((failures + 1))
  fi
}
step() { printf '\n== %s\n' "$*"; }
show() {  # prints a command, then runs it with its output indented
  printf '  $ %s\n' "$*"
  "$@" 2>&1 | sed 's/^/    /'
}
show_sh() {  # prints a shell command line, then runs it like show
  printf '  $ %s\n' "$1"
  sh -c "$1" 2>&1 | sed 's/^/    /'
}
same_content() { cmp -s "$1" "$2"; }
contains() { grep -qF -- "$2" "$1"; }
fstype_is() { [ "$(findmnt -n -o FSTYPE --target "$1")" = "$2" ]; }
same_total_size() {
  [ "$(stat -f -c '%b %S' "$1")" = "$(stat -f -c '%b %S' "$2")" ]
}
daemon_gone() {
  local i
  for i in $(seq 50); do
    pgrep -f -- "$binary .*$view" >/dev/null || return 0
    sleep 0.1
  done
  return 1
}

cd "$demo"
echo "wtcachefs demo in $demo"
echo "  origin/  the slow storage (authoritative)"
echo "  cache/   the fast cache directory"
echo "  view/    the mount: a mirror of origin/"

step "prepare the origin"
mkdir origin/projects
printf 'notes kept on the slow disk\n' > origin/projects/notes.txt
head -c $((4 * 1024 * 1024)) /dev/urandom > origin/projects/data.bin
show ls -l origin/projects

step "mount (the program detaches once the view is mounted)"
show "$binary" "$origin" "$cache" "$view" --cache-size 256M
show findmnt -o SOURCE,TARGET,FSTYPE,OPTIONS "$view"
check "view is a fuse.wtcachefs mount" fstype_is "$view" fuse.wtcachefs

step "the view mirrors the origin"
show ls -l view/projects
show cat view/projects/notes.txt
check "notes.txt reads the same through the view" \
  same_content origin/projects/notes.txt view/projects/notes.txt
check "data.bin (4 MiB) reads the same through the view" \
  same_content origin/projects/data.bin view/projects/data.bin

step "write through the view"
show_sh 'echo "hello from the view" > view/projects/hello.txt'
show_sh 'echo "a line appended through the view" >> view/projects/notes.txt'
show dd if=/dev/urandom of=view/projects/written.bin bs=1M count=8 conv=fsync status=none
show mkdir view/projects/reports
show mv view/projects/hello.txt view/projects/reports/hello.txt
show ln -s ../notes.txt view/projects/reports/notes-link
show cat view/projects/reports/hello.txt
check "hello.txt reads back through the view" \
  contains view/projects/reports/hello.txt "hello from the view"

step "every write is on the origin"
show ls -lR origin/projects
show cat origin/projects/reports/hello.txt
show cat origin/projects/notes.txt
show sha256sum view/projects/written.bin origin/projects/written.bin
check "hello.txt is on the origin" \
  contains origin/projects/reports/hello.txt "hello from the view"
check "the appended line is on the origin" \
  contains origin/projects/notes.txt "a line appended through the view"
check "written.bin (8 MiB) on the origin equals the view's" \
  same_content origin/projects/written.bin view/projects/written.bin
check "the symlink is on the origin" test -L origin/projects/reports/notes-link

if setfattr -n user.demo -v probe origin/projects 2>/dev/null; then
  setfattr -x user.demo origin/projects
  show setfattr -n user.colour -v blue view/projects/reports/hello.txt
  show getfattr -n user.colour origin/projects/reports/hello.txt
  check "an xattr set through the view is on the origin" \
    sh -c '[ "$(getfattr --only-values -n user.colour origin/projects/reports/hello.txt)" = blue ]'
else
  echo "  (xattrs skipped: the origin's file system has no user xattrs)"
fi

step "cache statistics of the view"
if ! show "$binary" status "$view"; then
  echo "  (no statistics: this build has no 'wtcachefs status')"
fi

step "space reported by the view is the origin's"
show df -h "$origin" "$view"
check "view and origin report the same size" same_total_size "$origin" "$view"

step "unmount"
show fusermount3 -u "$view"
check "view is unmounted" sh -c "! mountpoint -q '$view'"
check "the daemon has exited" daemon_gone
show ls -l origin/projects
check "origin still holds written.bin" test -s origin/projects/written.bin

echo
if [ "$failures" -eq 0 ]; then
  echo "demo finished: all $checks checks passed"
else
  echo "demo finished: $failures of $checks checks FAILED" >&2
  exit 1
fi
