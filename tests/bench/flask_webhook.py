"""The usual hand-written alternative to immutable-guard, for the benchmark:
a Flask validating webhook that applies the same rule to ExternalSecret and
ClusterExternalSecret reviews.

A spec violates when target.immutable is true, the spec still expects
refreshes (refreshPolicy absent or Periodic with a positive or default
refreshInterval, OnChange, or an unknown policy), and the
immutable-guard.io/rotation annotation is absent; an annotation other than
"recreate" is a violation of its own. Served by gunicorn:

    gunicorn -k gthread -w 2 --threads 8 --certfile C --keyfile K \
        -b 127.0.0.1:PORT flask_webhook:app
"""
import re

from flask import Flask, jsonify, request

app = Flask(__name__)

ANNOTATION = "immutable-guard.io/rotation"
KINDS = {"ExternalSecret", "ClusterExternalSecret"}
VERSIONS = {"v1", "v1beta1", "v1alpha1"}
UNIT_NS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
           "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
DURATION_PART = re.compile(r"(\d*\.?\d*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text):
    """Return nanoseconds for a Go duration string, or None when invalid."""
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        return None
    total = 0
    position = 0
    while position < len(text):
        match = DURATION_PART.match(text, position)
        if not match or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * UNIT_NS[match.group(2)]
        position = match.end()
    return sign * int(total)


def expects_refresh(spec):
    policy = spec.get("refreshPolicy")
    if policy == "CreatedOnce":
        return False
    if policy not in (None, "Periodic"):
        return True  # OnChange, or a policy the operator does not define
    interval = spec.get("refreshInterval")
    if interval is None:
        return True  # the operator's default, 1h
    if isinstance(interval, str):
        nanoseconds = parse_duration(interval)
        return nanoseconds is None or nanoseconds > 0
    return interval != 0


def violation(kind, obj):
    if kind == "ClusterExternalSecret":
        spec = (obj.get("spec") or {}).get("externalSecretSpec") or {}
        metadata = (obj.get("spec") or {}).get("externalSecretMetadata") or {}
    else:
        spec = obj.get("spec") or {}
        metadata = obj.get("metadata") or {}
    rotation = (metadata.get("annotations") or {}).get(ANNOTATION)
    if rotation is not None and rotation != "recreate":
        return "immutable-guard.io/rotation must be \"recreate\""
    immutable = (spec.get("target") or {}).get("immutable") is True
    if immutable and expects_refresh(spec) and rotation is None:
        return ("target.immutable is true but the ExternalSecret still refreshes: the "
                "refresh will fail; set refreshPolicy: CreatedOnce, or annotate "
                "immutable-guard.io/rotation: recreate")
    return None


@app.post("/validate")
def validate():
    review = request.get_json(force=True, silent=True)
    if not isinstance(review, dict) or not isinstance(review.get("request"), dict):
        return jsonify(kind="Status", apiVersion="v1", status="Failure", code=400,
                       message="request body is not an AdmissionReview"), 400
    req = review["request"]
    gvk = req.get("kind") or {}
    response = {"uid": req.get("uid"), "allowed": True}
    if (gvk.get("group") == "external-secrets.io" and gvk.get("version") in VERSIONS
            and gvk.get("kind") in KINDS and req.get("operation") in ("CREATE", "UPDATE")
            and isinstance(req.get("object"), dict)):
        problem = violation(gvk["kind"], req["object"])
        if problem:
            response["allowed"] = False
            response["status"] = {"code": 403, "reason": "Forbidden", "message": problem}
    return jsonify(apiVersion=review.get("apiVersion"), kind="AdmissionReview", response=response)
