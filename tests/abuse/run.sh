#!/bin/sh
# Abuse tests against the real binary (see abuse.py for the attacks and the
# limits checked). Makes a development certificate pair in a temporary
# folder and starts the server itself on a free loopback port.
#
#   tests/abuse/run.sh [BINARY]      default: bin/immutable-guard
set -u
cd "$(dirname "$0")/../.."
binary=${1:-bin/immutable-guard}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sh certs/make-dev-certs.sh "$work/certs" >/dev/null || exit 1
ABUSE_SERVER_LOG=$work/server.log ABUSE_GOOD_LOG=$work/good.log \
    python3 tests/abuse/abuse.py "$binary" "$work/certs/tls.crt" "$work/certs/tls.key" \
    tests/fixtures/admission/external-secret-v2.create.json
