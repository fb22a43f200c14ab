#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package needed to build wtcachefs, run its test suite
# and run scripts/demo.sh. Run as root. Non-interactive; safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run this as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() {
  # Wait for another apt or dpkg run (unattended upgrades on a fresh machine).
  apt-get -y -q -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" </dev/null
}

packages=(
  # compiler and build tools
  g++ make cmake pkg-config
  # libraries wtcachefs links against (with their CMake / pkg-config files)
  libfuse3-dev liburing-dev librocksdb-dev libcli11-dev
  # Intel ISA-L: the CRC32C (crc32_iscsi) that checksums every cached sector
  libisal-dev
  # libfuse 3.18 from Debian's next release, or 3.17 from Debian 13, built from
  # its source package (scripts/install-libfuse.sh): dpkg-source (dpkg-dev,
  # below), meson and ninja; FUSE over io_uring needs liburing (above) and
  # libnuma
  meson ninja-build libnuma-dev
  # test framework
  libgtest-dev libgmock-dev
  # run time: fusermount3 and mount.fuse3 (fuse3); mount, umount, mountpoint
  # (mount, util-linux); setfattr/getfattr (attr); cmp, pgrep for the demo
  # setfacl/getfacl for the ACL tests (acl)
  fuse3 mount util-linux attr acl coreutils diffutils procps
  # image mode tests: qemu-img and qemu-io (qemu-utils), fio with verification;
  # losetup for loop devices comes with mount
  qemu-utils fio
  # the cache fault tests put CACHE on an ext4 loop device: mkfs.ext4, e2fsck
  e2fsprogs
  # origins as users have them: a network origin (sshfs over OpenSSH's sftp
  # server on 127.0.0.1, with ssh for the client) and btrfs with subvolumes
  # and snapshots on a loop device (mkfs.btrfs, btrfs subvolume)
  openssh-server openssh-client sshfs btrfs-progs
  # the Debian package and its checks: dpkg-shlibdeps (dpkg-dev), lintian,
  # gzip and groff for the manual page
  dpkg-dev lintian gzip groff-base
  # fuzzing (scripts/fuzz.sh): clang 14, its libFuzzer and sanitizer runtimes
  # (libclang-rt-14-dev), and lld, which drops the code a fuzz target never calls
  clang libclang-rt-14-dev lld
)

apt_get update
apt_get install --no-install-recommends "${packages[@]}"

bash "$(dirname "$0")/install-libfuse.sh"

if [ ! -e /dev/fuse ]; then
  echo "install-deps.sh: note: /dev/fuse is missing; load the fuse kernel module" \
       "(modprobe fuse) before mounting" >&2
fi
echo "install-deps.sh: all packages installed"
