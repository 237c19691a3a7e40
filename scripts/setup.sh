#!/usr/bin/env bash
# Installs everything Gatehouse needs to build, test and benchmark on Debian 12,
# from Debian's packages only. Run as root. Re-runs are fast: when every
# package is already installed, apt is not touched at all.
set -euo pipefail

PACKAGES=(
  # build
  g++ meson ninja-build pkg-config git
  libuv1-dev libssl-dev node-llhttp libnghttp2-dev libre2-dev libtomlplusplus-dev
  prometheus-cpp-dev nlohmann-json3-dev libc-ares-dev libsystemd-dev libgoogle-perftools-dev
  # tests, sanitizers, fuzzing, micro-benchmarks, formatting
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev clang-format
  # real clients and peers for integration tests
  curl nghttp2-client openssl socat python3 python3-h2 python3-grpcio python3-protobuf
  etcd-server testssl.sh ca-certificates
  # benchmarks: the peers Gatehouse is measured against, and load generators
  wrk haproxy nginx nghttp2-proxy util-linux
  # process and network tools; systemd for systemd-analyze verify
  procps iproute2 systemd
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or: sudo bash scripts/setup.sh)" >&2
  exit 1
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Installing nginx, haproxy or etcd must not start them as services (port 80,
# 2379...): deny service starts during this install unless a policy exists.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup: done"
