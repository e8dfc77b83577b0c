#!/bin/sh
# The long crash matrix: `rain sync` and `rain-server` killed with SIGKILL 200 times
# (CI: 50). Replay a failing schedule with the seed it prints:
#   RAIN_CRASH_SEED=<seed> scripts/crash-matrix.sh
set -eu
cd "$(dirname "$0")/.."
export RAIN_CRASH_KILLS="${RAIN_CRASH_KILLS:-200}"
swift build --build-tests
swift test --skip-build --filter CrashMatrixTests 2>&1 | tee /tmp/rain-crash-matrix.log | grep -E "crash matrix|✘|✔ Test run|Test run"
