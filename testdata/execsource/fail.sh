#!/bin/sh
# Lookup test script that fails after complaining on stderr.
cat >/dev/null
echo "cannot connect to the ERP database" >&2
echo "second line" >&2
exit 3
