#!/bin/sh
# End-to-end tests of `immutable-guard check` on real manifests written outside
# this project (read from the shared fixtures folder beside the repository) and
# on hand-made hard cases in inputs/. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
binary=${1:-bin/immutable-guard}
real=${REAL_MANIFESTS:-../shared/fixtures/real}
seed=${SEED_MANIFESTS:-../shared/fixtures/seed}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# run NAME ARGS...: runs check, leaving stdout, stderr and status in $work.
run() {
    "$binary" check "$@" >"$work/out" 2>"$work/err"
    echo $? >"$work/status"
}

expect_status() {
    status=$(cat "$work/status")
    if [ "$status" -eq "$2" ]; then pass "$1 exit $2"; else fail "$1" "exit $status, expected $2; stderr: $(head -c 400 "$work/err")"; fi
}

expect_stdout_lines() {
    lines=$(wc -l <"$work/out")
    if [ "$lines" -eq "$2" ]; then pass "$1 prints $2 violations"; else fail "$1" "$lines violation lines, expected $2: $(cat "$work/out")"; fi
}

expect_in() {
    if grep -qF -- "$3" "$work/$2"; then pass "$1 $2 has: $3"; else fail "$1" "$2 lacks \"$3\": $(head -c 600 "$work/$2")"; fi
}

if [ -d "$real" ]; then
    grep -v '^#' tests/check/expected-real.txt | while read -r file status violations checked; do
        [ -n "$file" ] || continue
        echo "$file $status $violations $checked"
    done >"$work/table"
    while read -r file status violations checked; do
        run "$real/$file"
        expect_status "$file" "$status"
        expect_stdout_lines "$file" "$violations"
        if [ "$status" -ne 2 ]; then
            expect_in "$file" err "checked $checked ExternalSecret object"
        else
            expect_in "$file" err "invalid "
            expect_in "$file" err "helm template"
        fi
        if grep -q 'Sanitizer\|runtime error' "$work/err"; then fail "$file" "sanitizer report"; fi
    done <"$work/table"
    if [ "$(ls "$real" | grep -c '\.yaml$')" -eq "$(wc -l <"$work/table")" ]; then
        pass "every real manifest has an expected verdict"
    else
        fail "real manifests" "files in $real and tests/check/expected-real.txt differ"
    fi
else
    fail "real manifests" "$real not found; set REAL_MANIFESTS"
fi

if [ -d "$seed" ]; then
    run "$seed/external-secret.yml"
    expect_status "seed mutable" 0
    run "$seed/external-secret-v2.yml"
    expect_status "seed immutable" 1
    expect_in "seed immutable" out "external-secret-v2.yml:1: ExternalSecret default/my-app: spec.target.immutable is true"
else
    fail "seed manifests" "$seed not found; set SEED_MANIFESTS"
fi

in=tests/check/inputs
run "$in/violations.yaml"
expect_status "multi-document" 1
expect_stdout_lines "multi-document" 2
expect_in "multi-document" out "violations.yaml:1: ExternalSecret payments/db: spec.target.immutable is true but it still refreshes every 30m"
expect_in "multi-document" out "violations.yaml:3: ClusterExternalSecret shared-db: spec.externalSecretSpec.target.immutable is true"

run "$in/list.json"
expect_status "json list" 1
expect_stdout_lines "json list" 1
expect_in "json list" out "list.json:1: ExternalSecret n/a:"

run "$in/anchors-and-merge.yaml"
expect_status "anchors and merge keys" 1
expect_in "anchors and merge keys" out "anchors-and-merge.yaml:2: ExternalSecret apps/merged: spec.target.immutable is true but it still refreshes every 5m"

run "$in/quoted-and-typed.yaml"
expect_status "quoted and typed scalars" 0
expect_in "quoted and typed scalars" err "quoted-and-typed.yaml:3: warning: ExternalSecret apps/bad-interval: refreshInterval \"1 day\" is not a Go duration"

run "$in/duplicate-key.yaml"
expect_status "duplicate key" 2
expect_in "duplicate key" err "mapping key \"target\" is defined twice"

run "$in/alias-bomb.yaml"
expect_status "alias bomb" 2
expect_in "alias bomb" err "too many alias expansions"

run "$in/deep.yaml"
expect_status "deep nesting" 2
expect_in "deep nesting" err "nesting too deep"

run "$in/merge-override.yaml"
expect_status "merge keys with overrides" 1
expect_stdout_lines "merge keys with overrides" 1
expect_in "merge keys with overrides" out "merge-override.yaml:4: ExternalSecret apps/merged-only: spec.target.immutable is true but it still refreshes every 5m"

run "$in/nul-and-binary.yaml"
expect_status "NUL and binary scalars" 1
expect_stdout_lines "NUL and binary scalars" 1
expect_in "NUL and binary scalars" out "nul-and-binary.yaml:1: ExternalSecret apps/nul-annotation: the annotation immutable-guard.io/rotation in metadata.annotations has the invalid value"

run "$in/nested-lists.json"
expect_status "nested and typed lists" 1
expect_stdout_lines "nested and typed lists" 2
expect_in "nested and typed lists" out "nested-lists.json:1: ExternalSecret n/nested:"
expect_in "nested and typed lists" out "nested-lists.json:1: ExternalSecret n/typed:"

run "$in/top-level-array.json"
expect_status "top-level JSON array" 1
expect_in "top-level JSON array" err "checked 1 ExternalSecret object in 1 document of 1 input: 1 violation"

run -- "$in/top-level-array.json"
expect_status "double dash ends options" 1

"$binary" check - <"$in/violations.yaml" >"$work/out" 2>"$work/err"
echo $? >"$work/status"
expect_status "stdin" 1
expect_in "stdin" out "(stdin):1: ExternalSecret payments/db:"

run "$in/violations.yaml" "$work/missing.yaml"
expect_status "missing file wins over violations" 2
expect_in "missing file" err "missing.yaml: open failed: No such file or directory"

printf 'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: {{ .Values.name }}\n' >"$work/template.yaml"
run "$work/template.yaml"
expect_status "helm template" 2
expect_in "helm template" err "render it first (for example with 'helm template')"

"$binary" check >"$work/out" 2>"$work/err"
echo $? >"$work/status"
expect_status "no arguments" 2
expect_in "no arguments" err "Usage: immutable-guard check"

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
