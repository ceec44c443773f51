#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10m), one after another,
# and prints each target's closing lines. The seeds alone run in `go test`.
#   FUZZTIME=10m FUZZPARALLEL=1 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10m}
parallel=${FUZZPARALLEL:-1}
targets=(
  "./validation FuzzPayment"
  "./efipay FuzzParse"
  "./efipay FuzzVerify"
  "./handlers FuzzIDNumberParam"
  "./erp/file FuzzReadCSV"
  "./erp/file FuzzReadJSON"
  "./erp/sqlsource FuzzRewrite"
)
for entry in "${targets[@]}"; do
  set -- $entry
  echo "== $2 ($1) for $fuzztime"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -parallel "$parallel" "$1" > "/tmp/fuzz-$2.log" 2>&1; then
    echo "   PASS after $(( $(date +%s) - start ))s: $(grep -E 'elapsed' "/tmp/fuzz-$2.log" | tail -1)"
  else
    echo "   FAIL: see /tmp/fuzz-$2.log"; tail -20 "/tmp/fuzz-$2.log"
  fi
done
