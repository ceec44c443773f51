#!/bin/sh
# Lookup test script whose output is not JSON.
cat >/dev/null
echo "Warning: deprecated option"
echo '{"charges":[]}'
