#!/bin/sh
# AWS integration step. Starts moto 5.2.1 with IAM authentication on and the
# fault stand-in on 127.0.0.1 (random free ports), runs the Criterion tests
# and `immutable-guard ssm get` against them, then scans every line the
# client logged at debug level for the secrets the tests used. Both servers
# are stopped by PID on exit, also on failure.
#
# Usage: run-integration.sh TEST_BINARY IMMUTABLE_GUARD_BINARY
set -u
test_bin=$1
cli=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/ig-aws-test.XXXXXX)
moto_pid=""
fault_pid=""
passed=0
failed=0

cleanup() {
    for pid in $moto_pid $fault_pid; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# No AWS setting of the calling shell may reach the tests: every endpoint is
# set explicitly to a loopback server below.
for var in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do
    unset "$var"
done
# Loopback servers are reached directly, never through a proxy from the environment.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

count() { # NAME STATUS: record one check
    if [ "$2" -eq 0 ]; then
        echo "[PASS] $1"
        passed=$((passed + 1))
    else
        echo "[FAIL] $1"
        failed=$((failed + 1))
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

if ! python3 -c 'import moto, boto3, flask, werkzeug' 2>/dev/null; then
    echo "moto with its server extras is missing; installing moto[server]==5.2.1 with pip" >&2
    if ! python3 -m pip install --quiet 'moto[server]==5.2.1'; then
        echo "########################################################################"
        echo "SKIPPED: the AWS integration tests need moto[server] 5.2.1 (Python 3),"
        echo "and no package registry could provide it. Nothing was tested."
        echo "########################################################################"
        echo "aws-integration: 0 passed, 0 failed"
        exit 0
    fi
fi

# moto: the fixture's first three actions are the only unauthenticated ones.
moto_port=$(free_port)
INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
moto_url="http://127.0.0.1:$moto_port"

python3 "$here/fault_server.py" "$work/fault.port" >"$work/fault.log" 2>&1 &
fault_pid=$!

tries=0
until curl -s -o /dev/null "$moto_url/moto-api/" && [ -s "$work/fault.port" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 60 ]; then
        echo "moto or the fault stand-in did not start within 30 s; their logs follow"
        cat "$work/moto.log" "$work/fault.log"
        echo "aws-integration: 0 passed, 1 failed"
        exit 1
    fi
    sleep 0.5
done
fault_url="http://127.0.0.1:$(cat "$work/fault.port")"

if ! python3 "$here/moto_setup.py" "$moto_url" "$work/fixture.json"; then
    echo "creating the moto fixture failed; moto's log follows"
    cat "$work/moto.log"
    echo "aws-integration: 0 passed, 1 failed"
    exit 1
fi
: >"$work/secrets.txt"

# Criterion tests, one at a time: the moto tests share moto's auth counter.
IG_TEST_MOTO_URL=$moto_url IG_TEST_MOTO_FIXTURE=$work/fixture.json IG_TEST_FAULT_URL=$fault_url \
    IG_TEST_LOG_FILE=$work/client.log IG_TEST_SECRETS_FILE=$work/secrets.txt \
    "$test_bin" --jobs 1 --verbose >"$work/criterion.out" 2>&1
# run-step.sh reads the last Criterion synthesis line. Rename ours, so that
# the closing line of this script gives the step's total instead.
sed 's/Synthesis: Tested:/Criterion totals: tested/' "$work/criterion.out"
totals=$(grep -a 'Criterion totals' "$work/criterion.out" | tail -n 1)
[ -n "$totals" ] || totals=$(sed -n 's/.*Synthesis: Tested:/x/p' "$work/criterion.out" | tail -n 1)
c_pass=$(echo "$totals" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
c_fail=$(echo "$totals" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
c_crash=$(echo "$totals" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
if [ -z "$c_pass" ]; then
    echo "the Criterion run printed no totals"
    failed=$((failed + 1))
else
    passed=$((passed + c_pass))
    failed=$((failed + c_fail + c_crash))
fi

# The command line, against the same servers.
field() {
    python3 -c 'import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value[part]
print(value)' "$work/fixture.json" "$1"
}
reader_key=$(field reader.AccessKeyId)
reader_secret=$(field reader.SecretAccessKey)
chainer_key=$(field chainer.AccessKeyId)
chainer_secret=$(field chainer.SecretAccessKey)

AWS_ACCESS_KEY_ID=$reader_key AWS_SECRET_ACCESS_KEY=$reader_secret AWS_ENDPOINT_URL=$moto_url \
    "$cli" ssm get --region us-east-1 --log-level debug /ig/app/plain /ig/app/secret /ig/nope \
    >"$work/cli-masked.out" 2>"$work/cli-masked.err"
status=$?
python3 - "$work/cli-masked.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert [p["Value"] for p in doc["Parameters"]] == ["****", "****"], doc
assert sorted(p["Name"] for p in doc["Parameters"]) == ["/ig/app/plain", "/ig/app/secret"], doc
assert doc["InvalidParameters"] == ["/ig/nope"], doc
import re
for p in doc["Parameters"]:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", p["LastModifiedDate"]), p
    assert p["ARN"].endswith(":parameter" + p["Name"]) and p["DataType"] == "text" and p["Version"] == 1, p
PY
count "ssm get masks values and lists missing names" $((status + $?))

AWS_ACCESS_KEY_ID=$reader_key AWS_SECRET_ACCESS_KEY=$reader_secret AWS_ENDPOINT_URL_SSM=$moto_url \
    "$cli" ssm get --region us-east-1 --show-values /ig/app/secret >"$work/cli-values.out" 2>"$work/cli-values.err"
status=$?
python3 - "$work/cli-values.out" "$(field values./ig/app/secret)" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["Parameters"][0]["Value"] == sys.argv[2], "value differs from the fixture"
PY
count "ssm get --show-values prints the value" $((status + $?))

AWS_ACCESS_KEY_ID=$chainer_key AWS_SECRET_ACCESS_KEY=$chainer_secret AWS_ENDPOINT_URL=$moto_url \
    "$cli" ssm get --region us-east-1 --log-level debug --role-arn "$(field roles.hop)" \
    --role-arn "$(field roles.final)" --external-id "$(field external_id)" \
    --role-session-name "$(field session_name)" --path /ig/tree --recursive \
    >"$work/cli-chain.out" 2>"$work/cli-chain.err"
status=$?
python3 - "$work/cli-chain.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert len(doc["Parameters"]) == 23, len(doc["Parameters"])
assert all(p["Value"] == "****" for p in doc["Parameters"])
PY
count "ssm get through a role chain reads a path" $((status + $?))

AWS_ACCESS_KEY_ID=$reader_key AWS_SECRET_ACCESS_KEY=not-the-secret AWS_ENDPOINT_URL=$moto_url \
    "$cli" ssm get --region us-east-1 --log-level debug /ig/app/plain >"$work/cli-error.out" 2>"$work/cli-error.err"
status=$?
grep -v '^{"time"' "$work/cli-error.err" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert doc["Error"]["Kind"] == "invalid_signature", doc
assert doc["Error"]["Code"] == "SignatureDoesNotMatch", doc'
parsed=$?
[ "$status" -eq 1 ] && [ "$parsed" -eq 0 ]
count "ssm get exits 1 with a typed error" $?

printf '%s' "eyJhbGciOiJSUzI1NiJ9.cli-web-identity-token.c2lnbmF0dXJl" >"$work/web-token"
echo "eyJhbGciOiJSUzI1NiJ9.cli-web-identity-token.c2lnbmF0dXJl" >>"$work/secrets.txt"
# moto 5.2.1 with authentication on fails unsigned requests with HTTP 500, so
# the unsigned AssumeRoleWithWebIdentity runs as its one allowed
# unauthenticated action (the Criterion tests check that it is unsigned).
curl -s -o /dev/null -X POST -H 'Content-Type: text/plain' --data 1 "$moto_url/moto-api/reset-auth"
AWS_ROLE_ARN=$(field roles.web) AWS_WEB_IDENTITY_TOKEN_FILE=$work/web-token AWS_ROLE_SESSION_NAME=$(field session_name) \
    AWS_ENDPOINT_URL=$moto_url "$cli" ssm get --region us-east-1 --log-level debug \
    --role-arn "$(field roles.web_final)" --role-session-name "$(field session_name)" /ig/app/secret \
    >"$work/cli-web.out" 2>"$work/cli-web.err"
count "ssm get with web identity and a role" $?

"$cli" ssm --help >"$work/help.out" 2>&1
status=$?
grep -q -- '--show-values' "$work/help.out"
count "ssm --help exits 0 and lists the options" $((status + $?))

"$cli" ssm get --region us-east-1 >"$work/usage.out" 2>&1
[ $? -eq 2 ] && grep -q 'no parameter NAME given' "$work/usage.out"
count "ssm get without a name is a usage error" $?

"$cli" ssm get --timeout 0 /x >"$work/usage.out" 2>&1
[ $? -eq 2 ] && grep -q "'0' is invalid" "$work/usage.out"
count "ssm get rejects a zero timeout" $?

python3 "$here/scan_secrets.py" "$work/secrets.txt" "$work/fixture.json" \
    --masked "$work/cli-masked.out" --masked "$work/cli-chain.out" --masked "$work/cli-web.out" \
    "$work/client.log" "$work/cli-masked.err" "$work/cli-values.err" "$work/cli-chain.err" \
    "$work/cli-error.err" "$work/cli-web.err"
count "no secret in any debug log or masked output" $?

echo "aws-integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
