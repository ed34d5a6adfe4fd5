#!/bin/sh
# Static checks on src/: banned calls, cppcheck and clang-tidy (configured in
# .clang-tidy at the repository root). Prints each tool's findings and a
# closing "N passed, N failed" with one count per tool.
#
#   tests/static/run.sh [FILE_OR_DIR...]     default: src
set -u
cd "$(dirname "$0")/../.."
targets=${*:-src}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

record() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1"
    fi
}

python3 tests/static/banned-calls.py $targets
record banned-calls $?

# System headers are left out on purpose (see cppcheck-macros.h); every
# suppression in cppcheck-suppressions.txt carries its reason.
cppcheck --enable=warning,performance,portability --std=c11 --inline-suppr --quiet \
    --error-exitcode=1 -D_GNU_SOURCE -Iinclude --suppress=missingIncludeSystem \
    --suppressions-list=tests/static/cppcheck-suppressions.txt \
    --include=tests/static/cppcheck-macros.h \
    --template='{file}:{line}: {severity} [{id}] {message}' $targets
record cppcheck $?

# Library headers come in as system headers, so that their own style is not
# reported. The version macros only need to exist. One clang-tidy process
# per CPU, a few files each.
libs=$(pkg-config --cflags libmicrohttpd libcjson libcurl openssl yaml-0.1 gnutls libxml-2.0 |
    sed 's/-I/-isystem /g')
TIDY_FLAGS="-std=c11 -Iinclude -D_GNU_SOURCE -DIG_VERSION=\"0\" -DIG_GIT_COMMIT=\"0\" $libs"
export TIDY_FLAGS
# shellcheck disable=SC2016,SC2086
find $targets -name '*.c' | sort |
    xargs -n 4 -P "$(nproc)" sh -c 'clang-tidy-14 --quiet "$@" -- $TIDY_FLAGS' clang-tidy >"$log" 2>&1
status=$?
grep -E '(warning|error):' "$log"
record clang-tidy $status

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
