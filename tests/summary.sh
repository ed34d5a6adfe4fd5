#!/bin/sh
# Print the total of every step recorded by tests/run-step.sh, one line per step,
# then the closing "N passed, N failed" line. Exit 1 when any test failed.
set -eu
dir=$1
total_passed=0
total_failed=0
for f in "$dir"/*; do
    case "$f" in *.log) continue ;; esac
    [ -f "$f" ] || continue
    read -r passed failed <"$f"
    printf '  %-24s %s passed, %s failed\n' "$(basename "$f")" "$passed" "$failed"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
