#!/bin/sh
# ctest interop_azure_attestation: the official @azure/attestation 1.0.0 SDK and jose against
# `cloak attest serve` over HTTPS. Dependencies are pinned by package-lock.json and installed
# with `npm ci` (common.sh). usage: sh run.sh   (env: CLOAK_BUILD_DIR, CLOAK_SOURCE_DIR)
set -eu
here=${CLOAK_SOURCE_DIR:?CLOAK_SOURCE_DIR is not set}/tests/interop
# shellcheck source=common.sh
. "$here/common.sh"

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
wait_listening "$pid" "$tmp/serve.out" "$tmp/serve.err" "cloak attest serve" || { pid=""; exit 1; }
issuer=$(sed -n 's/^issuer: //p' "$tmp/serve.out")
[ -f "$data/ca.pem" ] || { echo "interop: $data/ca.pem was not created" >&2; exit 1; }

rc=0
# shellcheck disable=SC2086
CLOAK_ATTEST_URL=$issuer CLOAK_INTEROP_TMP=$tmp NODE_EXTRA_CA_CERTS=$data/ca.pem \
  node $nodeflags --test "$here/attestation.test.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "interop: service stderr:" >&2
  cat "$tmp/serve.err" >&2
fi
exit "$rc"
