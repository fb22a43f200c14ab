#!/usr/bin/env bash
# A short demonstration of wtcachefs's main job: mount a view of a slow origin
# directory with a cache, work through the view, and show that every write is on
# the origin. Needs root (it mounts) and a build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${WTCACHEFS:-build/wtcachefs}
demo=$(mktemp -d /tmp/wtcachefs-demo-XXXXXX)
origin=$demo/slow
cache=$demo/fast
view=$demo/view
mkdir -p "$origin/projects" "$cache" "$view"

cleanup() {
  if mountpoint -q "$view"; then fusermount3 -u "$view" || umount -l "$view"; fi
  rm -rf "$demo"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

echo "wtcachefs demo in $demo"
printf 'notes kept on the slow disk\n' > "$origin/projects/notes.txt"
head -c 3145728 /dev/urandom > "$origin/projects/data.bin"

step "mount: $binary $origin $cache $view"
"$binary" "$origin" "$cache" "$view"
grep " $view " /proc/self/mounts

step "the view mirrors the origin"
ls -l "$view/projects"
cat "$view/projects/notes.txt"

step "reads through the view return the origin's bytes"
cmp "$origin/projects/data.bin" "$view/projects/data.bin"
echo "data.bin: identical ($(stat -c %s "$view/projects/data.bin") bytes)"

step "writes through the view land on the origin"
printf 'written through the view at %s\n' "$(date -u +%H:%M:%S)" >> "$view/projects/notes.txt"
mkdir "$view/projects/new-dir"
ln -s ../notes.txt "$view/projects/new-dir/link"
cat "$origin/projects/notes.txt"
ls -l "$origin/projects/new-dir"
cmp "$origin/projects/notes.txt" "$view/projects/notes.txt"

step "space reported by the view is the origin's"
df -h "$view" | tail -n 1

step "unmount"
fusermount3 -u "$view"
if mountpoint -q "$view"; then
  echo "demo: the view is still mounted" >&2
  exit 1
fi
echo "unmounted; origin keeps everything:"
ls -l "$origin/projects"
echo
echo "demo finished: all checks passed"
