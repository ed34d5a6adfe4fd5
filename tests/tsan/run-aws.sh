#!/bin/sh
# Start the fault stand-in and moto 5.2.1 (IAM authentication on) on
# 127.0.0.1 with random free ports, create the moto fixture, and run the
# ThreadSanitizer AWS stress driver against both. Both servers are stopped by
# PID on exit, also on failure. Without moto the driver runs the fault phases
# only and prints a SKIPPED line for the moto phase.
#
# Usage: run-aws.sh AWS_STRESS_BINARY
set -u
driver=$1
here=$(cd "$(dirname "$0")" && pwd)
aws_tests=$here/../aws
work=$(mktemp -d /tmp/ig-aws-tsan.XXXXXX)
moto_pid=""
fault_pid=""

cleanup() {
    for pid in $moto_pid $fault_pid; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# No AWS setting of the calling shell may reach the driver: it sets every
# endpoint explicitly to the loopback servers below.
for var in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do
    unset "$var"
done
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export PYTHONDONTWRITEBYTECODE=1

fail() {
    echo "$1"
    for log in "$work"/*.log; do
        [ -s "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }
    done
    echo "aws-tsan: 0 passed, 1 failed"
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

python3 "$aws_tests/fault_server.py" "$work/fault.port" >"$work/fault.log" 2>&1 &
fault_pid=$!

moto_url=""
if python3 -c 'import moto, boto3, flask, werkzeug' 2>/dev/null; then
    # The fixture's first three actions are the only unauthenticated ones.
    moto_port=$(free_port)
    INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    moto_url="http://127.0.0.1:$moto_port"
else
    echo "moto with its server extras is not installed; the moto phase is skipped"
fi

tries=0
until [ -s "$work/fault.port" ] && { [ -z "$moto_url" ] || curl -s -o /dev/null "$moto_url/moto-api/"; }; do
    tries=$((tries + 1))
    [ "$tries" -gt 60 ] && fail "moto or the fault stand-in did not start within 30 s; their logs follow"
    sleep 0.5
done
fault_url="http://127.0.0.1:$(cat "$work/fault.port")"

if [ -n "$moto_url" ]; then
    python3 "$aws_tests/moto_setup.py" "$moto_url" "$work/fixture.json" >"$work/setup.log" 2>&1 ||
        fail "creating the moto fixture failed; the logs follow"
    TMPDIR=$work IG_TEST_LOG_FILE=$work/client.log "$driver" "$fault_url" "$moto_url" "$work/fixture.json"
else
    TMPDIR=$work IG_TEST_LOG_FILE=$work/client.log "$driver" "$fault_url" -
fi
status=$?
[ "$status" -eq 66 ] && echo "ThreadSanitizer reported a race (exit status 66); the report is above"
exit "$status"
