#!/bin/sh
# Count instructions per review with callgrind: run the driver with 1 and
# with 1 + N reviews and divide the difference by N, so that start-up and
# first-call costs drop out. Prints one CALLGRIND line and writes the
# profile of the longer run to OUT_DIR/callgrind.out.
#
#   tests/bench/callgrind.sh OUT_DIR [N]     (N defaults to 1000)
set -eu
cd "$(dirname "$0")/../.."
out=$1
n=${2:-1000}
driver=$out/callgrind-driver

total() {
    valgrind --tool=callgrind --callgrind-out-file="$2" "$driver" "$1" "$3" >/dev/null 2>&1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$2"
}

for body in review-apply review-1m; do
    count=$n
    [ "$body" = review-1m ] && count=$((n / 100))
    one=$(total "$out/$body.json" "$out/callgrind.one" 1)
    many=$(total "$out/$body.json" "$out/callgrind.$body.out" $((count + 1)))
    echo "CALLGRIND body=$body bytes=$(wc -c <"$out/$body.json") reviews=$count" \
        "instructions_per_review=$(( (many - one) / count ))"
done
rm -f "$out/callgrind.one"
callgrind_annotate "$out/callgrind.review-apply.out" 2>/dev/null | sed -n '1,40p' >"$out/callgrind-top.txt"
