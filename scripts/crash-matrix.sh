#!/usr/bin/env bash
# The long crash matrix: `rain sync` and `rain-server` killed with SIGKILL 200 times
# (CI: 50). Replay a failing schedule with the seed it prints:
#   RAIN_CRASH_SEED=<seed> scripts/crash-matrix.sh
# Exits with the test run's status (pipefail: not the status of the filter below it).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAIN_CRASH_KILLS="${RAIN_CRASH_KILLS:-200}"
swift build --build-tests
log=/tmp/rain-crash-matrix.log
status=0
swift test --skip-build --filter CrashMatrixTests >"$log" 2>&1 || status=$?
grep -E "crash matrix|✘|✔ Test run|Test run" "$log" || true
if [ "$status" -ne 0 ]; then
    echo "crash matrix FAILED (swift test exited with $status; the whole log: $log)"
fi
exit "$status"
