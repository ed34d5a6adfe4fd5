#!/usr/bin/env python3
"""Reject calls to unbounded or error-hiding C library functions.

Usage: banned-calls.py DIR_OR_FILE...

Flags sprintf, vsprintf, strcpy, strcat, strtok, atoi and gets (snprintf,
vsnprintf and asprintf are fine). Comments and string literals are ignored,
so a message that names a function is not a call. Prints file:line: call for
each hit and exits 1 when there is any.
"""
import os
import re
import sys

BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "strtok", "atoi", "gets")
CALL = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(BANNED) + r")\s*\(")
# Comments, string literals and character literals, in source order.
NOISE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(match):
    # Keep the newlines so that line numbers stay right.
    return re.sub(r"[^\n]", " ", match.group(0))


def sources(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for folder, _, names in sorted(os.walk(path)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(folder, name)


def main():
    hits = 0
    for path in sources(sys.argv[1:]):
        with open(path, encoding="utf-8", errors="replace") as f:
            code = NOISE.sub(blank, f.read())
        for number, line in enumerate(code.split("\n"), start=1):
            for match in CALL.finditer(line):
                print(f"{path}:{number}: {match.group(1)}() is not allowed; "
                      "use snprintf, memcpy with a length, or strtol with checks")
                hits += 1
    print(f"banned calls: {hits}")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
