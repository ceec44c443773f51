#!/usr/bin/env bash
# sigkill-soak.sh: SIGKILL a real recauda-bridge server ROUNDS times (default
# 20) under mixed load (lookups with concurrent duplicates, signed webhooks,
# write-backs to the file source's journal) and check after every restart
# that no acknowledged webhook is missing, no ref reached two callers, no
# write-back was lost or done twice, and PRAGMA integrity_check is ok.
#
#   bash scripts/sigkill-soak.sh            # 20 rounds
#   bash scripts/sigkill-soak.sh 5 -seed 42 # 5 rounds, repeatable choices
#
# Loopback only. Prints a line per round and a verdict; exits non-zero on any
# violation and keeps the work directory (database, journal, server.log) for
# inspection; removes it on success.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-20}"
shift || true
work="$(mktemp -d -t sigkill-soak.XXXXXX)"

go build -o "$work/recauda-bridge" .
go build -o "$work/soak" ./scripts/soak

mkdir "$work/run"
if "$work/soak" -bin "$work/recauda-bridge" -dir "$work/run" -rounds "$rounds" "$@"; then
	rm -rf "$work"
else
	status=$?
	echo "sigkill-soak: failed (status $status); evidence kept in $work/run" >&2
	exit "$status"
fi
