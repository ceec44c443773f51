#!/bin/sh
# Write-back test script: appends the payment read from stdin to the ledger
# file named by $LEDGER, once per transaction_id (a second run with the same
# transaction is a no-op that still exits 0). Exit 67 for an unknown charge,
# 65 for a refused one.
#
# With --reversal (reversal_command) it reads a reversal instead and appends
# it once per transaction_id, after the payment it undoes; a reversal of a
# payment the ledger never recorded changes nothing and exits 0.
set -eu
payment=$(cat)
tx=$(printf '%s' "$payment" | sed -n 's/.*"transaction_id":"\([^"]*\)".*/\1/p')
ref=$(printf '%s' "$payment" | sed -n 's/.*"ref_payment":"\([^"]*\)".*/\1/p')
case "$ref" in
  UNKNOWN) echo "no invoice $ref" >&2; exit 67 ;;
  REFUSED) echo "invoice $ref is closed" >&2; exit 65 ;;
  FLAKY) echo "database locked" >&2; exit 1 ;;
esac
touch "$LEDGER"
if [ "${1:-}" = "--reversal" ]; then
  if grep -q "\"kind\":\"reversal\".*\"transaction_id\":\"$tx\"" "$LEDGER"; then
    echo "transaction $tx already reversed" >&2
    exit 0
  fi
  if ! grep -q "\"transaction_id\":\"$tx\"" "$LEDGER"; then
    echo "transaction $tx was never recorded" >&2
    exit 0
  fi
  printf '%s\n' "$payment" >> "$LEDGER"
  exit 0
fi
if grep -q "\"transaction_id\":\"$tx\"" "$LEDGER"; then
  echo "transaction $tx already recorded" >&2
  exit 0
fi
printf '%s\n' "$payment" >> "$LEDGER"
