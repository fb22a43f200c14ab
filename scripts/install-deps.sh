#!/usr/bin/env bash
# Installs every Debian 12 package wtcachefs needs to build, test and run.
# Run as root. Non-interactive and idempotent.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential g++ cmake make pkg-config \
  fuse3 libfuse3-dev \
  liburing-dev \
  librocksdb-dev \
  libcli11-dev \
  libgtest-dev libgmock-dev \
  attr util-linux mount procps
