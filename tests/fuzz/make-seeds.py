#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into OUT/<target>/.

Seeds come from the project's own fixtures (admission reviews, the policy
cases, the `check` inputs) and, when the folder exists, from the manifest
fixtures beside the repository, which are read here at run time and not
copied into the repository. Usage: make-seeds.py OUT [MANIFEST_DIR...]
"""
import hashlib
import json
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def write(out, target, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def reviews():
    folder = os.path.join(ROOT, "tests", "fixtures", "admission")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".create.json"):
            with open(os.path.join(folder, name), "rb") as f:
                yield f.read()
    with open(os.path.join(folder, "policy-cases.json"), "rb") as f:
        cases = json.load(f)["cases"]
    for case in cases:
        yield json.dumps(case["review"], separators=(",", ":")).encode()


def main():
    out = sys.argv[1]
    manifest_dirs = [os.path.join(ROOT, "tests", "check", "inputs")] + sys.argv[2:]

    # Admission: selector byte (webhook, mode, action, exemptions) + body.
    # Selector bits: 0 mutate, 1-2 mode, 3 set-mutable, 4 exempt namespaces.
    objects = []
    for body in reviews():
        for selector in (0x00, 0x02, 0x04, 0x01, 0x09, 0x10):
            write(out, "admission", bytes([selector]) + body)
        review = json.loads(body)
        obj = review.get("request", {}).get("object")
        if isinstance(obj, dict):
            objects.append(obj)

    # Patch: selector byte + keys + NUL + document.
    for obj in objects[:40]:
        document = json.dumps(obj, separators=(",", ":")).encode()
        for selector in (0x01, 0x03, 0x05, 0x07):
            write(out, "patch", bytes([selector]) + b"\0" + document)
        write(out, "patch", b"\x00metadata\nannotations\na/b~c\0" + document)
        write(out, "patch", b"\x00spec\ntarget\nimmutable\0" + document)

    # Duration: the forms refreshInterval takes in practice and at the edges.
    for text in ("1h", "1h30m", "0", "0s", "-1.5h", "+15m", "300ms", "1.000000001s",
                 "2562047h47m16.854775807s", "-2562047h47m16.854775808s", "1\u00b5s",
                 "1\u03bcs", "768h", ".5s", "1.s"):
        write(out, "duration", text.encode())

    # SigV4: method, path, query, headers, blank line, body (byte 0: options).
    for options in (0, 1, 3, 15):
        write(out, "sigv4", bytes([options]) + b"POST\n/\n\nhost:ssm.us-east-1.amazonaws.com\n"
              b"content-type:application/x-amz-json-1.1\nx-amz-target:AmazonSSM.GetParameters\n\n"
              b'{"Names":["/prod/db/password"],"WithDecryption":true}')
        write(out, "sigv4", bytes([options]) + b"GET\n/a/./b/../c//d\nb=2&a=1&a=0&c=%7e\n"
              b"host:example.com\nx-amz-meta:  two   spaces  \n\n")

    # AWS replies (byte 0: 0 SSM, 1 STS, 2 error body, 3 error with header, 4 ISO 8601).
    write(out, "aws_reply", b"\x00" + json.dumps({
        "Parameters": [{"Name": "/prod/db/password", "Type": "SecureString", "Value": "s3cret",
                        "Version": 3, "LastModifiedDate": 1.7e9, "DataType": "text",
                        "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password",
                        "Selector": ":3"}],
        "InvalidParameters": ["/missing"], "NextToken": "token"}).encode())
    write(out, "aws_reply", b"\x01<AssumeRoleResponse><AssumeRoleResult><Credentials>"
          b"<AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>"
          b"<SessionToken>token</SessionToken><Expiration>2026-03-01T11:15:00Z</Expiration>"
          b"</Credentials></AssumeRoleResult></AssumeRoleResponse>")
    write(out, "aws_reply", b'\x02{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}')
    write(out, "aws_reply", b"\x03<ErrorResponse><Error><Code>ExpiredToken</Code><Message>expired"
          b"</Message></Error><RequestId>1-2-3</RequestId></ErrorResponse>")
    write(out, "aws_reply", b"\x042026-03-01T11:15:00.123Z")

    # Watch streams: events from the review objects, in one stream (byte 0: chunk size).
    stream = b""
    for index, obj in enumerate(objects[:6]):
        kind = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR", "ADDED")[index]
        stream += json.dumps({"type": kind, "object": obj}).encode() + b"\n"
    for chunk in (0, 1, 7, 63):
        write(out, "watch", bytes([chunk]) + stream)

    # JSON printer: selector byte (changes to the parsed tree, see
    # fuzz_json_print.c) + JSON text.
    texts = [json.dumps(obj, separators=(",", ":")).encode() for obj in objects[:20]]
    texts += [
        b'{"s":"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00ff\\ud83d\\ude00/","e":"","k\\u0000":1}',
        b'[0,-0,0.1,1e300,-1e-300,5e-324,1.7976931348623157e308,1e400,123456789012345678,0.30000000000000004]',
        b"[" * 40 + b'{"a":[{}]}' + b"]" * 40,
        b'{"a":"0123456789abcde","b":"0123456789abcdef","c":"0123456789abcdef0","d":"\\n0123456789abcdef\\n"}',
    ]
    for text in texts:
        for selector in (0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F):
            write(out, "json_print", bytes([selector]) + text)

    # Manifest: YAML and JSON files.
    for folder in manifest_dirs:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and name.endswith((".yaml", ".yml", ".json")):
                with open(path, "rb") as f:
                    data = f.read()
                if len(data) <= 65536:
                    write(out, "manifest", data)


if __name__ == "__main__":
    main()
