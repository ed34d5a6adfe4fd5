#!/bin/sh
# AWS client benchmarks: signing cost, and GetParameter calls per second
# against moto 5.2.1 (IAM authentication on) and against the fault stand-in,
# each with one reused handle and with a new handle per call. Servers run on
# 127.0.0.1 with random free ports and are stopped by PID on exit.
#
# Usage (from the repository root): sh tests/bench/aws/run.sh [CALLS]
set -eu
calls=${1:-500}
root=$(pwd)
work=$(mktemp -d /tmp/ig-aws-bench.XXXXXX)
moto_pid=""
fault_pid=""
cleanup() {
    for pid in $moto_pid $fault_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for var in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do
    unset "$var"
done
# Loopback servers are reached directly, never through a proxy from the environment.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

make -s VARIANT=release build/release/libig.a >/dev/null
flags="$(pkg-config --cflags libcjson libcurl openssl libxml-2.0)"
libs="$(pkg-config --libs libcjson libcurl openssl libxml-2.0)"
# shellcheck disable=SC2086
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude $flags -o "$work/bench_aws" tests/bench/aws/bench_aws.c \
    build/release/libig.a $libs -lm -pthread

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
moto_port=$(free_port)
INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
python3 tests/aws/fault_server.py "$work/fault.port" >"$work/fault.log" 2>&1 &
fault_pid=$!
tries=0
until curl -s -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" && [ -s "$work/fault.port" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 60 ] || { echo "servers did not start" >&2; exit 1; }
    sleep 0.5
done
python3 tests/aws/moto_setup.py "http://127.0.0.1:$moto_port" "$work/fixture.json"
key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reader"]["AccessKeyId"])' "$work/fixture.json")
secret=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reader"]["SecretAccessKey"])' "$work/fixture.json")

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "libcurl $(curl-config --version 2>/dev/null || curl --version | head -n 1), $(openssl version)"
"$work/bench_aws" sign 200000
for mode in reuse fresh; do
    printf 'moto  '
    "$work/bench_aws" calls "http://127.0.0.1:$moto_port" "$key" "$secret" /ig/app/secret "$calls" "$mode"
done
for mode in reuse fresh; do
    printf 'stand-in  '
    "$work/bench_aws" calls "http://127.0.0.1:$(cat "$work/fault.port")" AKIDBENCH bench-secret /fault/ok/bench \
        "$calls" "$mode"
done
cd "$root"
