#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds libfuse 3.17 from Debian 13's fuse3 source package into a private
# prefix, as a static library that only wtcachefs links; called by
# install-deps.sh. Run as root. Safe to run again: a prefix that already holds
# the version is kept.
#
# Why: Debian 12's libfuse 3.14 cannot ask the kernel for FUSE_HANDLE_KILLPRIV_V2,
# without which the kernel sends a GETXATTR(security.capability) round trip
# before every write (docs/benchmarks.md, "Levers"). The system's apt
# configuration is not changed: the Debian 13 source index is fetched into a
# temporary directory. When the source cannot be fetched or built, this prints
# why and exits 0: CMake then builds against Debian 12's libfuse3-dev, with the
# same behaviour and fewer kernel features.
#
# Environment:
#   WTCACHEFS_FUSE3_PREFIX  install prefix (default /opt/wtcachefs/fuse3; CMake
#                           looks there by default)
set -euo pipefail

prefix=${WTCACHEFS_FUSE3_PREFIX:-/opt/wtcachefs/fuse3}
suite=trixie
want_series=3.17
# Changes when the build options below change: an older build is then redone.
recipe=3

if [ "$(id -u)" -ne 0 ]; then
  echo "install-libfuse.sh: run this as root" >&2
  exit 1
fi
if [ -f "$prefix/VERSION" ] && grep -q "^$want_series\..* recipe=$recipe\$" "$prefix/VERSION"; then
  echo "install-libfuse.sh: libfuse $(cut -d' ' -f1 "$prefix/VERSION") already in $prefix"
  exit 0
fi

work=$(mktemp -d /tmp/wtcachefs-libfuse.XXXXXX)
trap 'rm -rf "$work"' EXIT
give_up() {
  echo "install-libfuse.sh: warning: $1; wtcachefs builds against Debian 12's libfuse 3.14" \
       "instead (every write then costs the kernel's GETXATTR round trip)" >&2
  exit 0
}

# A private apt state: only Debian 13's source index, signed by the Debian
# archive keys Debian 12 already trusts.
mkdir -p "$work/lists/partial" "$work/src"
cat >"$work/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
EOF
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-"
             -o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root" -q)
apt-get "${apt_private[@]}" update >"$work/update.log" 2>&1 ||
  give_up "cannot fetch Debian $suite's source index ($(tail -1 "$work/update.log"))"
(cd "$work/src" && apt-get "${apt_private[@]}" source fuse3 >"$work/source.log" 2>&1) ||
  give_up "cannot fetch the fuse3 source package ($(tail -1 "$work/source.log"))"

source_dir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'fuse3-*' | head -1)
version=${source_dir##*/fuse3-}
case $version in
  "$want_series".*) ;;
  *) give_up "Debian $suite carries fuse3 $version, not $want_series" ;;
esac

# The library only (no utilities, examples or tests): fusermount3 and
# mount.fuse3 stay Debian 12's (package fuse3), which libfuse 3.17 runs.
# IGNORE_MTAB: /etc/mtab is a link to /proc/self/mounts on Debian, but 3.17
# would still fork `mount -f` after every mount and `umount` after every
# unmount as root to update it, and its child closes every descriptor up to
# the daemon's open-file limit one by one before it runs them: for that long a
# second daemon seems to serve the view. (The meson option disable-mtab is
# not wired up in 3.17.)
if ! (cd "$source_dir" &&
      meson setup build --prefix="$prefix" --libdir=lib --buildtype=release \
        -Ddefault_library=static -Dutils=false -Dexamples=false -Dtests=false \
        -Duseroot=false -Dc_args=-DIGNORE_MTAB >"$work/build.log" 2>&1 &&
      ninja -C build >>"$work/build.log" 2>&1); then
  give_up "building libfuse $version failed ($(tail -1 "$work/build.log"))"
fi
rm -rf "$prefix"
ninja -C "$source_dir/build" install >>"$work/build.log" 2>&1 ||
  give_up "installing libfuse $version into $prefix failed ($(tail -1 "$work/build.log"))"
echo "$version recipe=$recipe" >"$prefix/VERSION"
echo "install-libfuse.sh: libfuse $version installed in $prefix (static, for wtcachefs only)"
