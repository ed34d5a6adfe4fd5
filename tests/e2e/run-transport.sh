#!/bin/sh
# End-to-end transport tests: run the Criterion program TESTS against the
# immutable-guard binary SERVER.
#
#   sh tests/e2e/run-transport.sh SERVER TESTS [CRITERION_OPTION...]
#
# Extra options go to the test program, e.g. --filter 'transport/slow_*'.
#
# Makes two independent certificate sets (a, b) and a CN-only certificate in a
# scratch folder. The test program starts every server itself on 127.0.0.1
# with port 0 and records its PID under pids/; the EXIT trap stops any that
# are left, by PID, even when a test crashes.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 SERVER TESTS [CRITERION_OPTION...]" >&2
    exit 2
fi
server=$(realpath "$1")
tests=$(realpath "$2")
shift 2
here=$(dirname "$0")
root=$(realpath "$here/../..")

work=$(mktemp -d "${TMPDIR:-/tmp}/ig-e2e-transport.XXXXXX")
cleanup() {
    for pid_file in "$work"/pids/*; do
        [ -f "$pid_file" ] || continue
        kill -KILL "$(basename "$pid_file")" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/pids"

sh "$root/certs/make-dev-certs.sh" "$work/a" 2>/dev/null
sh "$root/certs/make-dev-certs.sh" "$work/b" 2>/dev/null
mkdir -p "$work/cn-only"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/cn-only/tls.key"
openssl req -x509 -new -key "$work/cn-only/tls.key" -sha256 -days 2 -subj "/CN=localhost" \
    -out "$work/cn-only/tls.crt" 2>/dev/null
cp "$work/cn-only/tls.crt" "$work/cn-only/ca.crt"

# No Kubernetes configuration: the server must never reach for a real cluster.
unset KUBECONFIG IG_KUBECONFIG KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
# fast-json-patch applies the server's patches independently of our code.
(cd "$root/tests/e2e" && npm ci --no-audit --no-fund --silent)
export IG_E2E_PATCH_TOOL="$root/tests/e2e/apply-patches.mjs"
export IG_E2E_SERVER="$server"
export IG_E2E_WORK="$work"
export IG_E2E_FIXTURES="$root/tests/fixtures/admission"
# The sanitizer build reports leaks at exit, which the tests see as a failed exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
"$tests" --jobs 2 "$@"
