#!/bin/sh
# Lookup test script that prints far more than the test's output cap, and
# would go on for a long time if it were not killed.
cat >/dev/null
printf '{"charges":['
while :; do
  printf '{"ref_payment":"R","amount":1},'
done
