#!/bin/sh
# Run every libFuzzer target in BUILD/fuzz for SECONDS each, seeded from fuzz/corpus/<name>.
set -eu
build=$1; secs=$2
mkdir -p "$build/fuzz-corpus"
for f in "$build"/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="$build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  seeds="fuzz/corpus/$name"
  echo "== $name: $secs s"
  if [ -d "$seeds" ]; then
    "$f" -max_total_time="$secs" -print_final_stats=1 "$corpus" "$seeds" 2>&1 | tail -n 12
  else
    "$f" -max_total_time="$secs" -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
  fi
done
