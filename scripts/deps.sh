#!/bin/sh
# Install the Debian packages cloak needs, or say exactly how to.
# usage: scripts/deps.sh [fuzz]
set -eu
pkgs="build-essential cmake pkg-config libssl-dev libsqlite3-dev libjansson-dev libevent-dev
libcurl4-openssl-dev libseccomp-dev libcmocka-dev curl openssl"
if [ "${1:-}" = fuzz ]; then pkgs="$pkgs clang libclang-rt-14-dev"; fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The independent DCAP check in the tests runs on Node.js (any packaged version >= 18); the
# tests/interop suite also needs npm (dependencies pinned by its package-lock.json, `npm ci`).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  exit 0
fi
echo "cloak needs these Debian packages:$missing" >&2
echo "Install them with:  sudo apt-get install -y$missing" >&2
exit 1
