#!/bin/sh
# make demo: the hello example end to end, then the CLI view of the same image and quote.
set -eu
build=${1:-build}
img=$build/examples/hello/enclave.signed
out=$build/demo
mkdir -p "$out"
echo "== examples/hello: create, call, seal, unseal, quote, identity"
"$build/examples/hello/hello-host" "$img" "$out/hello-quote.dat"
echo
echo "== cloak enclave info --json $img"
"$build/bin/cloak" enclave info --json "$img"
echo
echo "== cloak enclave quote $img --report-data 00ff -o $out/q.dat"
"$build/bin/cloak" enclave quote "$img" --report-data 00ff -o "$out/q.dat"
if command -v node >/dev/null 2>&1 && [ -f tests/tee/dcap_verify.mjs ]; then
  echo
  echo "== independent DCAP check (tests/tee/dcap_verify.mjs, Node.js crypto) of $out/q.dat"
  plat=${CLOAK_PLATFORM_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/cloak/platform}
  node tests/tee/dcap_verify.mjs --quote "$out/q.dat" --collateral "$plat/collateral" --root "$plat/root.pem"
fi
echo
echo "== cloak evidence verify --allow-sim --collateral <platform>/collateral --report-data 00ff $out/q.dat"
plat=${CLOAK_PLATFORM_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/cloak/platform}
"$build/bin/cloak" evidence verify --allow-sim --collateral "$plat/collateral" --report-data 00ff "$out/q.dat" |
  grep -E '^(tee|mrenclave|mrsigner|debug|report_data|tcb_status|x-cloak-sim) '
echo "(the same quote with only Intel's root trusted:)"
"$build/bin/cloak" evidence verify "$out/q.dat" || true

echo
echo "== Secure Key Release into an enclave (examples/skr)"
# An attestation service and a vault on free loopback ports (port 0), fresh data under
# $out/skr; both are stopped on exit, however the script ends.
skr=$out/skr
rm -rf "$skr"
mkdir -p "$skr"
cloak=$build/bin/cloak
att_pid=
vlt_pid=
skr_stop() {
  for p in $vlt_pid $att_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
trap skr_stop EXIT
trap 'exit 130' INT TERM
# skr_wait FILE WORD PID: wait until the service prints "WORD: VALUE", then print VALUE
skr_wait() {
  i=0
  while ! grep -q "^$2: " "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null || [ $i -ge 200 ]; then
      echo "demo: the service did not start:" >&2
      cat "${1%.out}.err" >&2
      exit 1
    fi
    sleep 0.05
    i=$((i + 1))
  done
  sed -n "s/^$2: //p" "$1" | head -n 1
}
"$cloak" attest serve --listen 127.0.0.1:0 --data "$skr/attest" --allow-sim \
  >"$skr/attest.out" 2>"$skr/attest.err" &
att_pid=$!
issuer=$(skr_wait "$skr/attest.out" issuer "$att_pid")
"$cloak" vault serve --listen 127.0.0.1:0 --data "$skr/vault" --trust-issuer "$issuer" \
  --ca "$skr/attest/ca.pem" >"$skr/vault.out" 2>"$skr/vault.err" &
vlt_pid=$!
vault=$(skr_wait "$skr/vault.out" vault "$vlt_pid")
echo "attestation service $issuer (simulated SGX evidence allowed), vault $vault"
skr_img=$build/examples/skr/enclave.signed
signer=$("$cloak" enclave info "$skr_img" | awk '$1 == "mrsigner" { print $2 }')
cat >"$skr/policy.json" <<POLICY
{"version": "1.0.0", "anyOf": [{"authority": "$issuer", "allOf": [
  {"claim": "x-ms-sgx-mrsigner", "equals": "$signer"},
  {"claim": "x-ms-sgx-product-id", "equals": 3},
  {"claim": "x-ms-sgx-is-debuggable", "equals": false}]}]}
POLICY
export CLOAK_VAULT_URL="$vault" CLOAK_VAULT_CA="$skr/vault/ca.pem"
"$cloak" vault token --data "$skr/vault" --role crypto-officer --subject demo >"$skr/token"
"$cloak" vault key create skr-demo --kty oct-HSM --size 256 --exportable \
  --policy "$skr/policy.json" --token-file "$skr/token" >/dev/null
echo "key skr-demo: oct-HSM 256, exportable only to mrsigner $(printf %.16s "$signer")..., product 3, not debuggable"
msg="hello from the vault, opened inside the enclave"
printf '%s' "$msg" | "$cloak" vault key encrypt skr-demo --alg A256GCM --json \
  --token-file "$skr/token" >"$skr/ciphertext.json"
echo "the vault encrypted \"$msg\" with it (A256GCM): $skr/ciphertext.json"
"$build/examples/skr/skr-host" --attest "$issuer" --attest-ca "$skr/attest/ca.pem" \
  --release-ca "$skr/vault/release.pem" --token-file "$skr/token" --key skr-demo \
  --alg A256GCM --ciphertext-json "$skr/ciphertext.json"
skr_stop
att_pid=
vlt_pid=
echo "(services stopped)"
