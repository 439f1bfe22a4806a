#!/bin/sh
# ctest interop_azure_attestation: the official @azure/attestation 1.0.0 SDK and jose against
# `cloak attest serve` over HTTPS. Dependencies are pinned by package-lock.json and installed
# with `npm ci`. usage: sh run.sh   (env: CLOAK_BUILD_DIR, CLOAK_SOURCE_DIR)
set -eu
src=${CLOAK_SOURCE_DIR:?CLOAK_SOURCE_DIR is not set}
build=${CLOAK_BUILD_DIR:?CLOAK_BUILD_DIR is not set}
here=$src/tests/interop
cloak=$build/bin/cloak

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop: node and npm are required for this test; run \`make deps\` (installs nodejs and npm from Debian)" >&2
  exit 1
fi
[ -x "$cloak" ] || { echo "interop: $cloak is missing; build first" >&2; exit 1; }

# (Re)install when node_modules is missing or older than the lockfile. npm ci writes
# node_modules/.package-lock.json, which we use as the stamp.
stamp=$here/node_modules/.package-lock.json
if [ ! -f "$stamp" ] ||
  [ -n "$(find "$here/package-lock.json" "$here/package.json" -newer "$stamp" 2>/dev/null)" ]; then
  echo "interop: installing pinned dependencies with npm ci" >&2
  if ! (cd "$here" && npm ci --no-audit --no-fund >&2); then
    echo "interop: \`npm ci\` failed in $here (no access to the npm registry?); cannot run the interop test" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d)
pid=""
# shellcheck disable=SC2317  # called through trap
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export CLOAK_PLATFORM_DIR="$tmp/platform"
data=$tmp/data
"$cloak" attest serve --listen 127.0.0.1:0 --data "$data" --allow-sim >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!

# The service prints "CA: ...", "issuer: URL" and "listening on HOST port N" once it is bound.
i=0
while ! grep -q '^listening on ' "$tmp/serve.out" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "interop: cloak attest serve exited early:" >&2
    cat "$tmp/serve.out" "$tmp/serve.err" >&2
    pid=""
    exit 1
  fi
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then echo "interop: cloak attest serve did not start in 30 s" >&2; exit 1; fi
  sleep 0.1
done
cat "$tmp/serve.out" >&2
issuer=$(sed -n 's/^issuer: //p' "$tmp/serve.out")
[ -f "$data/ca.pem" ] || { echo "interop: $data/ca.pem was not created" >&2; exit 1; }

# The current @azure/core-* packages the lockfile pins use the global `crypto` (WebCrypto),
# which Node 18 (Debian 12's nodejs) has only behind this flag.
nodeflags=""
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -lt 19 ] && nodeflags="--experimental-global-webcrypto"

rc=0
# shellcheck disable=SC2086
CLOAK_ATTEST_URL=$issuer CLOAK_INTEROP_TMP=$tmp NODE_EXTRA_CA_CERTS=$data/ca.pem \
  node $nodeflags --test "$here/attestation.test.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "interop: service stderr:" >&2
  cat "$tmp/serve.err" >&2
fi
exit "$rc"
