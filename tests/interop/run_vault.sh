#!/bin/sh
# ctest interop_azure_keyvault: the official @azure/keyvault-keys 4.10.2 KeyClient and
# CryptographyClient (and @azure/attestation for the release target token) against
# `cloak vault serve` over HTTPS. Starts `cloak attest serve --allow-sim` (the issuer trusted
# for Secure Key Release) and `cloak vault serve`, mints a crypto-officer bearer token with
# `cloak vault token`, and runs keyvault.test.mjs. Dependencies are pinned by
# package-lock.json and installed with `npm ci`.
# usage: sh run_vault.sh   (env: CLOAK_BUILD_DIR, CLOAK_SOURCE_DIR)
set -eu
here=${CLOAK_SOURCE_DIR:?CLOAK_SOURCE_DIR is not set}/tests/interop
# shellcheck source=common.sh
. "$here/common.sh"

tmp=$(mktemp -d)
apid=""
vpid=""
# shellcheck disable=SC2317  # called through trap
cleanup() {
  for p in $vpid $apid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export CLOAK_PLATFORM_DIR="$tmp/platform"

# 1. The attestation service: issues the target tokens for releaseKey.
"$cloak" attest serve --listen 127.0.0.1:0 --data "$tmp/attest" --allow-sim \
  >"$tmp/attest.out" 2>"$tmp/attest.err" &
apid=$!
wait_listening "$apid" "$tmp/attest.out" "$tmp/attest.err" "cloak attest serve" || { apid=""; exit 1; }
issuer=$(sed -n 's/^issuer: //p' "$tmp/attest.out")
[ -f "$tmp/attest/ca.pem" ] || { echo "interop: $tmp/attest/ca.pem was not created" >&2; exit 1; }

# 2. The vault, trusting that issuer (reached through its CA).
"$cloak" vault serve --listen 127.0.0.1:0 --data "$tmp/vault" --trust-issuer "$issuer" \
  --ca "$tmp/attest/ca.pem" >"$tmp/vault.out" 2>"$tmp/vault.err" &
vpid=$!
wait_listening "$vpid" "$tmp/vault.out" "$tmp/vault.err" "cloak vault serve" || { vpid=""; exit 1; }
vault=$(sed -n 's/^vault: //p' "$tmp/vault.out")
vault_ca=$(sed -n 's/^CA: //p' "$tmp/vault.out")
[ -n "$vault" ] || { echo "interop: cloak vault serve printed no \"vault: URL\" line" >&2; exit 1; }
[ -f "$vault_ca" ] || { echo "interop: the vault's CA ($vault_ca) was not created" >&2; exit 1; }

# 3. A bearer token, kept in a 0600 file (not in the environment or argv of node).
(umask 077 && "$cloak" vault token --data "$tmp/vault" --role crypto-officer --subject interop \
  >"$tmp/token") || { echo "interop: cloak vault token failed" >&2; exit 1; }

# Node trusts both local CAs (the SDKs have no CA option).
cat "$tmp/attest/ca.pem" "$vault_ca" >"$tmp/cas.pem"

rc=0
# shellcheck disable=SC2086
CLOAK_ATTEST_URL=$issuer CLOAK_VAULT_URL=$vault CLOAK_VAULT_TOKEN_FILE=$tmp/token \
  CLOAK_INTEROP_TMP=$tmp NODE_EXTRA_CA_CERTS=$tmp/cas.pem \
  node $nodeflags --test "$here/keyvault.test.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "interop: vault stderr:" >&2
  cat "$tmp/vault.err" >&2
  echo "interop: attestation service stderr:" >&2
  cat "$tmp/attest.err" >&2
fi
exit "$rc"
