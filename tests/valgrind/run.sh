#!/bin/sh
# Memcheck of the real server. Starts `serve` under valgrind on loopback and
# sends it the seed reviews and the case table to both webhooks, every kind of
# bad input, probes and a key pair reload. Then stops it with SIGTERM and
# requires zero memcheck errors and zero leaked bytes. Prints "N passed, N failed".
#
#   sh tests/valgrind/run.sh IMMUTABLE_GUARD_BINARY
set -u
binary=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ig-valgrind.XXXXXX")
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

if ! command -v valgrind >/dev/null; then
    echo "valgrind is missing: install it with apt-get install valgrind" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

sh "$root/certs/make-dev-certs.sh" "$work/certs" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
probe=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --log-file="$work/memcheck.log" \
    "$binary" serve --listen "127.0.0.1:$port" --probe-listen "127.0.0.1:$probe" \
    --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" --threads 2 \
    --shutdown-grace 5 >"$work/server.log" 2>&1 &
server_pid=$!

# valgrind makes the start slow: wait for the probe.
tries=0
until curl -sf "http://127.0.0.1:$probe/readyz" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
        fail "start" "the server did not become ready in 60 s"
        echo "$passed passed, $failed failed"
        exit 1
    fi
    sleep 0.5
done
pass "server ready under valgrind"

url="https://127.0.0.1:$port"
post() { # post PATH CONTENT_TYPE BODY_FILE -> prints the HTTP status
    curl -s -o "$work/reply" -w '%{http_code}' --cacert "$work/certs/ca.crt" \
        -H "Content-Type: $2" --data-binary "@$3" "$url$1"
}
expect_status() { # expect_status NAME EXPECTED ACTUAL
    if [ "$3" = "$2" ]; then pass "$1 -> $2"; else fail "$1" "HTTP $3, expected $2"; fi
}

fixtures="$root/tests/fixtures/admission"
expect_status "validate denied review" 200 "$(post '/validate?timeout=10s' application/json "$fixtures/external-secret-v2.create.json")"
grep -q '"allowed":false' "$work/reply" && pass "denial in reply" || fail "denial in reply" "$(head -c 300 "$work/reply")"
expect_status "validate allowed review" 200 "$(post /validate application/json "$fixtures/external-secret.create.json")"
expect_status "mutate patched review" 200 "$(post /mutate 'application/json; charset=utf-8' "$fixtures/external-secret-v2.create.json")"
grep -q '"patchType":"JSONPatch"' "$work/reply" && pass "patch in reply" || fail "patch in reply" "$(head -c 300 "$work/reply")"
printf '{"apiVersion":' >"$work/broken.json"
expect_status "not JSON" 400 "$(post /validate application/json "$work/broken.json")"
printf '{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview"}' >"$work/v2.json"
expect_status "unsupported version" 400 "$(post /validate application/json "$work/v2.json")"
expect_status "wrong content type" 415 "$(post /validate text/plain "$fixtures/external-secret.create.json")"
expect_status "unknown path" 404 "$(post /nowhere application/json "$fixtures/external-secret.create.json")"
status=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/certs/ca.crt" "$url/validate")
expect_status "GET on validate" 405 "$status"
head -c 8000000 /dev/zero | tr '\0' ' ' >"$work/big.json"
expect_status "body over the limit" 413 "$(post /validate application/json "$work/big.json")"
python3 - "$fixtures/policy-cases.json" "$work" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
for i, case in enumerate(cases):
    with open(f"{sys.argv[2]}/case-{i}.json", "w") as f:
        json.dump(case["review"], f)
PY
cases_ok=0
cases_total=0
for f in "$work"/case-*.json; do
    for path in /validate /mutate; do
        cases_total=$((cases_total + 1))
        [ "$(post "$path" application/json "$f")" = 200 ] && cases_ok=$((cases_ok + 1))
    done
done
if [ "$cases_ok" -eq "$cases_total" ]; then pass "$cases_total case-table reviews answered 200"; else fail "case table" "$cases_ok of $cases_total answered 200"; fi
for probe_path in /healthz /readyz /metrics; do
    expect_status "probe $probe_path" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$probe$probe_path")"
done
# A key pair reload: write a new pair over the old files.
sh "$root/certs/make-dev-certs.sh" "$work/certs2" 2>/dev/null
cp "$work/certs2/tls.key" "$work/certs/tls.key.new" && cp "$work/certs2/tls.crt" "$work/certs/tls.crt.new"
mv "$work/certs/tls.key.new" "$work/certs/tls.key" && mv "$work/certs/tls.crt.new" "$work/certs/tls.crt"
sleep 4

loads=$(grep -c "\"TLS key pair reloaded\"" "$work/server.log")
if [ "$loads" -ge 1 ]; then pass "key pair reloaded"; else fail "key pair reload" "no reload logged"; fi

kill -TERM "$server_pid"
wait "$server_pid"
code=$?
server_pid=""
expect_status "exit status after SIGTERM" 0 "$code"
if grep -q 'ERROR SUMMARY: 0 errors' "$work/memcheck.log"; then
    pass "memcheck: 0 errors"
else
    fail "memcheck" "$(grep -E 'ERROR SUMMARY|definitely|indirectly|possibly' "$work/memcheck.log" | head -5)"
    grep -A12 'Invalid\|uninitialised\|definitely lost in' "$work/memcheck.log" | head -60
fi
grep -E 'definitely lost|indirectly lost|possibly lost|ERROR SUMMARY|All heap blocks' "$work/memcheck.log" | sed 's/^==[0-9]*== /   /'
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
