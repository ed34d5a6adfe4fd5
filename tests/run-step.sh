#!/bin/sh
# Run one test step, echo its output, and record "passed failed" counts in
# build/test-results/NAME. Counts come from Criterion's closing "Synthesis" line,
# or from a closing "N passed, N failed" line that our own scripts print.
# Exit status is the step's own.
set -u
name=$1
shift
mkdir -p build/test-results
log=build/test-results/$name.log
"$@" >"$log" 2>&1
status=$?
cat "$log"
passed=""
failed=""
synthesis=$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1)
if [ -n "$synthesis" ]; then
    passed=$(echo "$synthesis" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    failing=$(echo "$synthesis" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    crashing=$(echo "$synthesis" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    failed=$((failing + crashing))
else
    plain=$(grep -aE '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    passed=$(echo "$plain" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
    failed=$(echo "$plain" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
fi
if [ -z "$passed" ]; then
    passed=0
    failed=1
    echo "$name: no test count found in its output" >&2
    [ "$status" -eq 0 ] && status=1
fi
# Criterion reports a test as passed even when its worker process printed a
# sanitizer report at exit (a leak, say), so any such report fails the step.
if grep -aqE 'SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|LeakSanitizer)|: runtime error: |WARNING: ThreadSanitizer' "$log"; then
    echo "$name: sanitizer report in the output above" >&2
    failed=$((failed + 1))
    [ "$status" -eq 0 ] && status=1
fi
echo "$passed $failed" >"build/test-results/$name"
exit "$status"
