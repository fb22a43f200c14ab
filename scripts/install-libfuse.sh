#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a newer libfuse than Debian 12's from Debian's own fuse3 source
# package into a private prefix, as a static library that only wtcachefs
# links; called by install-deps.sh. Run as root. Safe to run again: a prefix
# that already holds the version wanted is kept.
#
# Which: 3.18 (>= 3.18.2) from Debian's next release (forky, then sid), built
# with FUSE over io_uring (liburing and libnuma); where no such release can be
# fetched, 3.17 from Debian 13 (trixie). Why:
#  - 3.17: Debian 12's libfuse 3.14 cannot ask the kernel for
#    FUSE_HANDLE_KILLPRIV_V2, without which the kernel sends a
#    GETXATTR(security.capability) round trip before every write
#    (docs/benchmarks.md, "Levers").
#  - 3.18: the kernel's io_uring transport (docs/tuning.md); 3.18.2 fixed two
#    crashes in its ring start-up and queue setup.
# The mirror is the machine's own: the first Debian archive named in its apt
# sources (/etc/apt/sources.list and /etc/apt/sources.list.d/, one-line and
# deb822 formats), so a machine behind a local mirror works. The system's apt
# configuration is not changed: the source index is fetched into a temporary
# directory. When no source can be fetched or built, this prints why and
# exits 0: CMake then builds against Debian 12's libfuse3-dev, with the same
# behaviour and fewer kernel features.
#
# Environment:
#   WTCACHEFS_FUSE3_PREFIX  install prefix (default /opt/wtcachefs/fuse3; CMake
#                           looks there by default)
#   WTCACHEFS_FUSE3_SERIES  3.18 (default) or 3.17: the newest series to try
#   WTCACHEFS_APT_MIRROR    a Debian archive URI to use instead of the one
#                           found in the apt sources
set -euo pipefail

prefix=${WTCACHEFS_FUSE3_PREFIX:-/opt/wtcachefs/fuse3}
newest=${WTCACHEFS_FUSE3_SERIES:-3.18}
# Changes when the build options below change: an older build is then redone.
recipe=6
# series:minimum version:suites to try, newest first.
candidates=("3.18:3.18.2:forky sid" "3.17:3.17.0:trixie")

if [ "$(id -u)" -ne 0 ]; then
  echo "install-libfuse.sh: run this as root" >&2
  exit 1
fi
case $newest in 3.18) ;; 3.17) candidates=("${candidates[@]:1}") ;;
  *) echo "install-libfuse.sh: WTCACHEFS_FUSE3_SERIES=$newest: give 3.18 or 3.17" >&2; exit 1 ;;
esac
want_series=${candidates[0]%%:*}
if [ -f "$prefix/VERSION" ] && grep -q "^$want_series\..* recipe=$recipe\$" "$prefix/VERSION"; then
  echo "install-libfuse.sh: libfuse $(cut -d' ' -f1 "$prefix/VERSION") already in $prefix"
  exit 0
fi

work=$(mktemp -d /tmp/wtcachefs-libfuse.XXXXXX)
trap 'rm -rf "$work"' EXIT
give_up() {
  echo "install-libfuse.sh: warning: $1; wtcachefs builds against Debian 12's libfuse 3.14" \
       "instead (every write then costs the kernel's GETXATTR round trip, and there is no" \
       "io_uring transport)" >&2
  exit 0
}

# Prints the URI of the first enabled Debian archive ("deb" or "deb-src", not
# the security archive) in the machine's apt sources.
debian_mirror() {
  local files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  local f
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '
    function consider(uri, suites) {
      if (found || uri == "" || uri ~ /security/ || suites ~ /-security/) return
      if (uri !~ /\/debian\/?$/ && suites !~ /^(bookworm|trixie|forky|sid|stable|testing|unstable)/) return
      sub(/\/$/, "", uri); print uri; found = 1
    }
    # A deb822 stanza ends at a blank line, at the next file and at the end.
    function end_stanza() {
      if (enabled && types ~ /deb/) consider(uri, suites)
      uri = suites = types = ""; enabled = 1
    }
    BEGIN { enabled = 1 }
    FNR == 1 { end_stanza() }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { end_stanza(); next }
      if ($1 == "Types:") types = $0
      if ($1 == "URIs:") uri = $2
      if ($1 == "Suites:") suites = $2
      if ($1 == "Enabled:" && $2 == "no") enabled = 0
      next
    }
    /^[ \t]*deb(-src)?[ \t]/ {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      consider($i, $(i + 1))
    }
    END { end_stanza() }
  ' "${files[@]}"
}
mirror=${WTCACHEFS_APT_MIRROR:-$(debian_mirror)}
[ -n "$mirror" ] ||
  give_up "no Debian archive found in /etc/apt/sources.list or /etc/apt/sources.list.d/ (set WTCACHEFS_APT_MIRROR)"

# Fetches the fuse3 source package of `suite` into $work/src/$suite; prints
# its directory, or nothing when the suite or its package cannot be fetched.
fetch_source() {
  local suite=$1 dir="$work/$1"
  mkdir -p "$dir/lists/partial" "$dir/src"
  # Only this suite's source index, signed by the Debian archive keys Debian
  # 12 already trusts.
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
    >"$dir/sources.list"
  local apt_private=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=-"
                     -o "Dir::State::Lists=$dir/lists" -o "APT::Sandbox::User=root" -q)
  apt-get "${apt_private[@]}" update >"$dir/update.log" 2>&1 || return 0
  (cd "$dir/src" && apt-get "${apt_private[@]}" source fuse3 >"$dir/source.log" 2>&1) || return 0
  find "$dir/src" -mindepth 1 -maxdepth 1 -type d -name 'fuse3-*' | head -1
}

version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

source_dir=
tried=()
for candidate in "${candidates[@]}"; do
  IFS=: read -r series minimum suites <<<"$candidate"
  for suite in $suites; do
    dir=$(fetch_source "$suite")
    if [ -z "$dir" ]; then tried+=("$suite: cannot fetch from $mirror"); continue; fi
    version=${dir##*/fuse3-}
    case $version in
      "$series".*) if version_at_least "$version" "$minimum"; then source_dir=$dir; break 2; fi ;;
    esac
    tried+=("$suite carries fuse3 $version")
  done
done
[ -n "$source_dir" ] || give_up "no usable fuse3 source package ($(IFS=';'; echo "${tried[*]}"))"
version=${source_dir##*/fuse3-}

# The library only (no utilities, examples or tests): fusermount3 and
# mount.fuse3 stay Debian 12's (package fuse3), which newer libfuse runs.
# IGNORE_MTAB: /etc/mtab is a link to /proc/self/mounts on Debian, but libfuse
# would still fork `mount -f` after every mount and `umount` after every
# unmount as root to update it, and its child closes every descriptor up to
# the daemon's open-file limit one by one before it runs them: for that long a
# second daemon seems to serve the view. (The meson option disable-mtab is
# not wired up in 3.17.)
uring_option=()
case $version in
  3.17.*) ;;
  *) uring_option=(-Denable-io-uring=true) ;;
esac
# Fixes of the series' own bugs that Debian's package does not carry yet
# (scripts/libfuse-patches/SERIES-*.patch; each says what it fixes). One that
# no longer applies was taken upstream.
for fix in "$(dirname "$0")/libfuse-patches/${version%.*}"-*.patch; do
  [ -f "$fix" ] || continue
  if patch -d "$source_dir" -p1 --forward --dry-run -s <"$fix" >/dev/null 2>&1; then
    patch -d "$source_dir" -p1 --forward -s <"$fix" >>"$work/build.log" 2>&1 ||
      give_up "cannot apply ${fix##*/} to libfuse $version"
  else
    echo "install-libfuse.sh: note: ${fix##*/} does not apply to libfuse $version" \
         "(fixed there already?); building without it" >&2
  fi
done
if ! (cd "$source_dir" &&
      meson setup build --prefix="$prefix" --libdir=lib --buildtype=release \
        -Ddefault_library=static -Dutils=false -Dexamples=false -Dtests=false \
        -Duseroot=false -Dc_args=-DIGNORE_MTAB "${uring_option[@]}" >"$work/build.log" 2>&1 &&
      ninja -C build >>"$work/build.log" 2>&1); then
  give_up "building libfuse $version failed ($(tail -1 "$work/build.log"))"
fi
if [ ${#uring_option[@]} -gt 0 ] && ! grep -q "HAVE_URING\|fuse_uring" "$source_dir/build/build.ninja"; then
  echo "install-libfuse.sh: warning: libfuse $version was built without io_uring" \
       "(install liburing-dev and libnuma-dev): the view then serves over /dev/fuse only" >&2
fi
rm -rf "$prefix"
ninja -C "$source_dir/build" install >>"$work/build.log" 2>&1 ||
  give_up "installing libfuse $version into $prefix failed ($(tail -1 "$work/build.log"))"
echo "$version recipe=$recipe" >"$prefix/VERSION"
echo "install-libfuse.sh: libfuse $version installed in $prefix (static, for wtcachefs only;" \
     "from $mirror)"
