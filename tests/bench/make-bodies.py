#!/usr/bin/env python3
"""Write the benchmark request bodies into OUT_DIR.

review-apply.json is the ExternalSecret CREATE review exactly as kube-apiserver
sends it on `kubectl apply` (managedFields and the last-applied-configuration
annotation included): compact JSON and one newline, as Go's JSON encoder
writes it. The fixture it comes from is indented for reading. review-1m.json is the same review grown to about
1 MiB with many spec.data entries, mirrored in the annotation and in
managedFields as kubectl and the apiserver would write them.

Usage: make-bodies.py FIXTURE OUT_DIR
"""
import json
import os
import sys

TARGET_BYTES = 1 << 20


def grow(review):
    request = review["request"]
    obj = request["object"]
    spec = obj["spec"]
    base = spec.get("data", [])
    managed = obj["metadata"].get("managedFields", [])
    index = 0
    while True:
        entry = {"secretKey": f"KEY_{index:05d}",
                 "remoteRef": {"key": f"/prod/app/component-{index:05d}/credential",
                               "property": "value", "version": "AWSCURRENT"}}
        spec["data"] = base + [entry] if index == 0 else spec["data"] + [entry]
        for field in managed:
            data = field.get("fieldsV1", {}).get("f:spec", {}).setdefault("f:data", {})
            data[json.dumps({"secretKey": entry["secretKey"]}, separators=(",", ":"))] = {
                ".": {}, "f:remoteRef": {".": {}, "f:key": {}, "f:property": {}, "f:version": {}},
                "f:secretKey": {}}
        index += 1
        if index % 200 == 0:
            applied = dict(obj)
            applied["metadata"] = {k: v for k, v in obj["metadata"].items()
                                   if k in ("name", "namespace", "labels")}
            applied.pop("status", None)
            obj["metadata"].setdefault("annotations", {})[
                "kubectl.kubernetes.io/last-applied-configuration"] = \
                json.dumps(applied, separators=(",", ":")) + "\n"
            if len(json.dumps(review, separators=(",", ":"))) >= TARGET_BYTES:
                return review


def main():
    fixture, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(fixture, "rb") as f:
        raw = f.read()
    review = json.loads(raw)
    with open(os.path.join(out, "review-apply.json"), "w") as f:
        json.dump(review, f, separators=(",", ":"))
        f.write("\n")
    big = grow(review)
    with open(os.path.join(out, "review-1m.json"), "w") as f:
        json.dump(big, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
