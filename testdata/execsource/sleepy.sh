#!/bin/sh
# Lookup test script that starts a child which would outlive it, writes the
# child's PID to the file named by $CHILD_PID_FILE, and hangs.
cat >/dev/null
sleep 300 &
echo $! > "$CHILD_PID_FILE"
wait
