#!/bin/sh
# Run every fuzz target for SECONDS seconds each (default 60), after replaying
# the committed regression inputs. Prints one line per target and a closing
# "N passed, N failed": a target fails when libFuzzer reports a crash, a leak,
# a sanitizer error or a timeout.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
set -u
cd "$(dirname "$0")/../.."
build=$1
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
targets=${*:-"admission duration patch manifest sigv4 aws_reply watch json_print"}

python3 tests/fuzz/make-seeds.py "$build/seeds" ../shared/fixtures/real ../shared/fixtures/seed || exit 1
mkdir -p "$build/artifacts"
passed=0
failed=0

for target in $targets; do
    binary=$build/fuzz_$target
    corpus=$build/corpus/$target
    log=$build/$target.log
    mkdir -p "$corpus"
    case $target in
        manifest) max_len=65536 ;;
        admission | watch | json_print) max_len=16384 ;;
        *) max_len=4096 ;;
    esac
    status=0
    : >"$log"
    regressions=tests/fuzz/regressions/$target
    if [ -d "$regressions" ] && [ -n "$(ls "$regressions")" ]; then
        "$binary" -runs=0 "$regressions"/* >>"$log" 2>&1 || status=$?
    fi
    # A 514-byte alias bomb takes about 1.2 s under ASan before the node
    # limit stops it; 25 s leaves room for a busy machine.
    if [ "$status" -eq 0 ]; then
        "$binary" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len="$max_len" \
            -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
            "$corpus" "$build/seeds/$target" >>"$log" 2>&1 || status=$?
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   fuzz_$target: ${runs:-0} executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs"
    else
        failed=$((failed + 1))
        echo "FAIL fuzz_$target: exit $status after ${runs:-?} executions; log $log"
        grep -E 'ERROR: |SUMMARY: |fuzz check failed|patch check failed|Test unit written' "$log" | head -n 8
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
