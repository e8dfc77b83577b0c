#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each one for SECONDS (default 60) on a copy of
# its checked-in seed corpus (Fuzz/corpus/<target>). A crash or a finding saves its
# input to Fuzz/crashes/ and makes this script fail; fix it, then add the input as an
# invalid vector (Protocol/tools/make_vectors.py) or to the corpus.
#
#   scripts/fuzz.sh            # both targets, 60 s each
#   scripts/fuzz.sh 600 batch  # the batch decoder for ten minutes
set -euo pipefail
cd "$(dirname "$0")/.."
# libFuzzer handles crashes itself (and saves the input): not Swift's backtracer.
export SWIFT_BACKTRACE=enable=no
seconds="${1:-60}"
shift 2>/dev/null || true
targets="${*:-batch server}"
flags="-Xswiftc -sanitize=fuzzer -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld --scratch-path .build-fuzz"
mkdir -p Fuzz/crashes
status=0
for target in $targets; do
    # A failed build must stop here: the old binary in .build-fuzz would be fuzzed instead.
    # shellcheck disable=SC2086
    if ! swift build --product "fuzz-$target" $flags >"/tmp/rain-fuzz-build-$target.log" 2>&1; then
        echo "fuzz-$target: the build failed; nothing was fuzzed:"
        grep -E "error:" "/tmp/rain-fuzz-build-$target.log" | head -20 || tail -20 "/tmp/rain-fuzz-build-$target.log"
        exit 2
    fi
    tail -1 "/tmp/rain-fuzz-build-$target.log"
    work="$(mktemp -d)"
    cp Fuzz/corpus/"$target"/* "$work"/
    echo "fuzz-$target: ${seconds}s on $(ls "$work" | wc -l) seed inputs"
    if ! .build-fuzz/debug/"fuzz-$target" "$work" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
        -artifact_prefix="Fuzz/crashes/$target-" -print_final_stats=1 >"$work.log" 2>&1; then
        status=1
        echo "fuzz-$target FOUND A PROBLEM:"
        grep -E "ERROR|answered|did not|round-trip|decode|refused|Test unit written|SUMMARY" "$work.log" | head -20 || true
    fi
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE" "$work.log" | tr '\n' ' ' || true
    echo
    rm -rf "$work" "$work.log"
done
exit $status
