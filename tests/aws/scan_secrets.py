"""Fail when any secret the AWS tests used appears in a log or output file.

Usage: scan_secrets.py SECRETS_FILE FIXTURE_JSON [--masked FILE]... LOG_FILE...

Secrets are the lines of SECRETS_FILE (written by the tests: keys, session
tokens, web identity tokens, parameter values) plus every secret key and
parameter value in the fixture. LOG_FILEs must not contain any of them and
must hold debug lines, so that an empty or quiet log cannot pass. --masked
files (ssm get output without --show-values) must not contain parameter
values. A finding names the file, the line and the secret's position in the
list, never the secret itself.
"""

import json
import sys


def main():
    secrets_file, fixture_file = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    masked, logs = [], []
    while rest:
        if rest[0] == "--masked":
            masked.append(rest[1])
            rest = rest[2:]
        else:
            logs.append(rest[0])
            rest = rest[1:]

    with open(secrets_file, encoding="utf-8") as f:
        secrets = {line.strip() for line in f if line.strip()}
    with open(fixture_file, encoding="utf-8") as f:
        fixture = json.load(f)
    values = set(fixture["values"].values()) | set(fixture["versions"])
    for user in ("reader", "chainer", "denied"):
        secrets.add(fixture[user]["SecretAccessKey"])
    secrets |= values
    # Short or common strings would match by accident; every test secret is longer.
    secrets = sorted(s for s in secrets if len(s) >= 12)
    ordered = list(secrets)

    findings = 0
    debug_lines = 0
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if '"level":"debug"' in line:
                    debug_lines += 1
                for secret in secrets:
                    if secret in line:
                        findings += 1
                        print(f"secret #{ordered.index(secret)} found in {path}:{number}")
    for path in masked:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for value in values:
            if value in text:
                findings += 1
                print(f"a parameter value is printed unmasked in {path}")

    print(f"scanned {len(logs)} log files ({debug_lines} debug lines) and {len(masked)} outputs "
          f"for {len(secrets)} secrets")
    if debug_lines < 20:
        print("too few debug lines: the scan would prove nothing")
        return 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
