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
