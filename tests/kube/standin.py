#!/usr/bin/env python3
"""Stand-in Kubernetes API server for immutable-guard tests.

It serves HTTPS on a loopback port and checks bearer tokens, or a client
certificate signed by --client-ca. It behaves like kube-apiserver for the
resources the daemon touches: discovery, namespaces, Secrets, ServiceAccounts
and their tokens, Events (core/v1 and events.k8s.io/v1), Leases and the
External Secrets Operator kinds. It keeps resourceVersions and returns 409 on
stale writes. It applies the Secret `immutable` rules, DELETE preconditions
and finalizers, and serves paginated lists with expiring continue tokens and
watch streams.

Paths under /_standin/ control it from tests (any valid token may call them):
  GET  /_standin/log                 every request handled so far
  POST /_standin/log/clear
  POST /_standin/tokens              {"token", "user", "ttl" (seconds, optional)}
  POST /_standin/faults              {"match": {...}, "times": N, "action": {...}}
  POST /_standin/settings            {"bookmark_interval", "chunk_size",
                                      "continue_ttl", "served_versions"}
  POST /_standin/compact             forget history: old watch RVs and continue
                                     tokens become 410 Expired

Known simplifications: strategic merge patch is applied as a JSON merge patch
without its `$patch` directives. JSON patch, server-side apply and bodies that
are not JSON get 415. core/v1 and events.k8s.io/v1 Events are stored apart.
"""

import argparse
import base64
import copy
import json
import os
import re
import secrets as pysecrets
import socket
import ssl
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MICROTIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")


class Resource:
    """One served resource: its group, versions, kind and scope."""

    def __init__(self, group, versions, name, kind, namespaced, short_names=(),
                 subresources=(), builtin=True):
        self.group = group
        self.versions = list(versions)
        self.name = name
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.subresources = list(subresources)
        self.builtin = builtin
        self.singular = kind.lower()


RESOURCES = [
    Resource("", ["v1"], "namespaces", "Namespace", False, ["ns"], ["status"]),
    Resource("", ["v1"], "secrets", "Secret", True),
    Resource("", ["v1"], "configmaps", "ConfigMap", True, ["cm"]),
    Resource("", ["v1"], "serviceaccounts", "ServiceAccount", True, ["sa"], ["token"]),
    Resource("", ["v1"], "events", "Event", True, ["ev"]),
    Resource("events.k8s.io", ["v1"], "events", "Event", True, ["ev"]),
    Resource("coordination.k8s.io", ["v1"], "leases", "Lease", True),
    Resource("external-secrets.io", ["v1", "v1beta1"], "externalsecrets", "ExternalSecret",
             True, ["es"], ["status"], builtin=False),
    Resource("external-secrets.io", ["v1", "v1beta1"], "clusterexternalsecrets",
             "ClusterExternalSecret", False, ["ces"], ["status"], builtin=False),
    Resource("external-secrets.io", ["v1", "v1beta1"], "secretstores", "SecretStore", True,
             ["ss"], ["status"], builtin=False),
    Resource("external-secrets.io", ["v1", "v1beta1"], "clustersecretstores",
             "ClusterSecretStore", False, ["css"], ["status"], builtin=False),
]

GROUP_PREFERRED = {"": "v1", "events.k8s.io": "v1", "coordination.k8s.io": "v1",
                   "external-secrets.io": "v1"}



# Bytes an endless_body or endless_event fault sends at most, so that a client
# that never hangs up cannot keep the stand-in busy forever.
ENDLESS_LIMIT = 1 << 30


class CutStream(Exception):
    """Raised inside a watch after sending half an event, to end the stream there."""


class ApiError(Exception):
    """A failure returned as a Status body."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(res, name):
    return ApiError(404, "NotFound", f'{resource_label(res)} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.name})


def resource_label(res):
    return res.name if not res.group else f"{res.name}.{res.group}"


def invalid(res, name, causes):
    """Build a 422 Invalid error; causes is a list of (reason, field, message)."""
    texts = [f"{field}: {msg}" for _, field, msg in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {joined}',
                    {"name": name, "group": res.group, "kind": res.kind,
                     "causes": [{"reason": r, "message": f"{m}", "field": f}
                                for r, f, m in causes]})


def conflict(res, name, why):
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {resource_label(res)} "{name}": {why}',
                    {"name": name, "group": res.group, "kind": res.name})


def merge_patch(target, patch):
    """Apply an RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    result = dict(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Store:
    """Objects, resourceVersions, watch history and everything tests control."""

    def __init__(self, initial_tokens):
        self.cond = threading.Condition(threading.RLock())
        self.rv = 100
        self.compacted_rv = 0
        self.objects = {}
        self.history = []
        self.tokens = dict(initial_tokens)
        self.log = []
        self.seq = 0
        self.faults = []
        self.snapshots = {}
        self.bookmark_interval = 0.0
        self.chunk_size = 0
        self.continue_ttl = 300.0
        self.endless_pages = 0
        self.served = {"external-secrets.io": ["v1", "v1beta1"]}
        self.open_watches = []
        for ns in ("default", "kube-system"):
            with self.cond:
                self._put_new(self.resource("", "namespaces"), None,
                              {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": ns},
                               "spec": {"finalizers": ["kubernetes"]},
                               "status": {"phase": "Active"}})

    # ----- lookup -----------------------------------------------------

    def resource(self, group, name):
        for res in RESOURCES:
            if res.group == group and res.name == name:
                return res
        return None

    def served_versions(self, res):
        return self.served.get(res.group, res.versions) if not res.builtin else res.versions

    # ----- history and watch ----------------------------------------

    def _next_rv(self):
        self.rv += 1
        return self.rv

    def _record(self, res, event_type, obj):
        self.history.append((self.rv, res, event_type, copy.deepcopy(obj)))
        self.cond.notify_all()

    def _put_new(self, res, ns, obj):
        meta = obj.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta["resourceVersion"] = str(self._next_rv())
        if not res.builtin:
            meta["generation"] = 1
        if ns is not None:
            meta["namespace"] = ns
        self.objects[(res.group, res.name, ns, meta["name"])] = obj
        self._record(res, "ADDED", obj)
        return obj

    def _put_update(self, res, key, obj):
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self.objects[key] = obj
        self._record(res, "MODIFIED", obj)
        return obj

    def _remove(self, res, key):
        obj = self.objects.pop(key)
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self._record(res, "DELETED", obj)
        self._finish_namespaces()
        return obj

    def _finish_namespaces(self):
        """Remove terminating namespaces once nothing is left in them."""
        ns_res = self.resource("", "namespaces")
        for key, obj in list(self.objects.items()):
            if key[1] != "namespaces" or "deletionTimestamp" not in obj["metadata"]:
                continue
            name = key[3]
            if any(k[2] == name for k in self.objects):
                continue
            self._remove(ns_res, key)

    def compact(self, break_watches):
        with self.cond:
            self.compacted_rv = self.rv
            self.history = []
            self.snapshots = {}
            if break_watches:
                for queue in self.open_watches:
                    queue.append("expire")
            self.cond.notify_all()

    # ----- faults -----------------------------------------------------

    def take_fault(self, method, path, query):
        """Return the action of the first matching fault and use up one of its times."""
        with self.cond:
            for fault in self.faults:
                match = fault.get("match", {})
                if match.get("method") and match["method"] != method:
                    continue
                if match.get("path_contains") and match["path_contains"] not in path:
                    continue
                if "watch" in match and bool(match["watch"]) != (query.get("watch") in ("true", "1")):
                    continue
                if "has_continue" in match and bool(match["has_continue"]) != ("continue" in query):
                    continue
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.faults.remove(fault)
                return fault["action"]
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin-apiserver"

    # ----- plumbing ---------------------------------------------------

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    @property
    def store(self):
        return self.server.store

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return b""
        return self.rfile.read(length)

    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return code

    def authenticate(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
            with self.store.cond:
                entry = self.store.tokens.get(token)
            if entry and (entry.get("expires") is None or time.time() < entry["expires"]):
                return entry["user"]
            return None
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return value
        return None

    def dispatch(self, method):
        started = time.time()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        raw = self.read_body()
        body_type = (self.headers.get("Content-Type") or "application/json").split(";")[0]
        # Every key exists from the start, so that the log can be serialised
        # outside the lock while a request is still filling in its status.
        entry = {"time": started, "method": method, "path": url.path, "query": query,
                 "user_agent": self.headers.get("User-Agent", ""),
                 "content_type": self.headers.get("Content-Type", ""), "user": None,
                 "body": None, "seq": 0, "status": None, "end": None,
                 "peer": f"{self.client_address[0]}:{self.client_address[1]}"}
        try:
            entry["body"] = json.loads(raw) if raw else None
        except ValueError:
            entry["body"] = None

        with self.store.cond:
            self.store.seq += 1
            entry["seq"] = self.store.seq
            if not url.path.startswith("/_standin/"):
                self.store.log.append(entry)

        code = 500
        try:
            user = self.authenticate()
            entry["user"] = user
            if user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")

            if url.path.startswith("/_standin/"):
                code = self.control(method, url.path, entry["body"], query)
                return
            if raw and not body_type.endswith("json"):
                # Real API servers also take protobuf and YAML; the stand-in only JSON.
                raise ApiError(415, "UnsupportedMediaType",
                               f'the stand-in API server only decodes JSON bodies, not '
                               f'"{body_type}"')
            action = self.store.take_fault(method, url.path, query)
            if action and "status" in action:
                headers = {}
                if "retry_after" in action:
                    headers["Retry-After"] = str(action["retry_after"])
                reason = action.get("reason") or {429: "TooManyRequests", 410: "Expired",
                                                  500: "InternalError",
                                                  503: "ServiceUnavailable"}.get(action["status"],
                                                                                 "InternalError")
                raise ApiError(action["status"], reason, action.get("message", "injected fault"),
                               headers=headers)
            if action and action.get("endless_body"):
                # A 200 reply whose JSON body never ends (cut off at ENDLESS_LIMIT).
                code = self.send_endless(b'{"kind":"List","metadata":{},"items":[{"data":"')
                return
            code = self.route(method, url.path, query, raw, entry["body"], action or {})
        except ApiError as err:
            code = self.send_json(err.code, err.status(), err.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
            code = 499
        finally:
            entry["status"] = code
            entry["end"] = time.time()

    # ----- control ----------------------------------------------------

    def control(self, method, path, body, query):
        store = self.store
        body = body or {}
        if path == "/_standin/log" and method == "GET":
            since = int(query.get("since") or 0)
            part = query.get("path_contains") or ""
            with store.cond:
                entries = [e for e in store.log if e["seq"] > since and part in e["path"]]
            return self.send_json(200, {"items": entries})
        with store.cond:
            if path == "/_standin/log/clear" and method == "POST":
                store.log = []
                return self.send_json(200, {})
            if path == "/_standin/tokens" and method == "POST":
                ttl = body.get("ttl")
                store.tokens[body["token"]] = {
                    "user": body.get("user", "tester"),
                    "expires": time.time() + ttl if ttl is not None else None}
                return self.send_json(200, {})
            if path == "/_standin/faults" and method == "POST":
                store.faults.append({"match": body.get("match", {}),
                                     "times": int(body.get("times", 1)),
                                     "action": body.get("action", {})})
                return self.send_json(200, {})
            if path == "/_standin/faults/clear" and method == "POST":
                store.faults = []
                return self.send_json(200, {})
            if path == "/_standin/settings" and method == "POST":
                if "bookmark_interval" in body:
                    store.bookmark_interval = float(body["bookmark_interval"])
                if "chunk_size" in body:
                    store.chunk_size = int(body["chunk_size"])
                if "continue_ttl" in body:
                    store.continue_ttl = float(body["continue_ttl"])
                if "served_versions" in body:
                    store.served.update(body["served_versions"])
                return self.send_json(200, {})
            if path == "/_standin/compact" and method == "POST":
                store.compact(bool(body.get("break_watches")))
                return self.send_json(200, {"compacted": store.compacted_rv})
        raise ApiError(404, "NotFound", f"no control endpoint {method} {path}")

    # ----- routing ----------------------------------------------------

    def route(self, method, path, query, raw, body, action):
        parts = [p for p in path.split("/") if p]
        if method == "GET" and self.discovery(parts):
            return 200
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")

        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and self.store.resource(group, rest[2]):
            ns = rest[1]
            rest = rest[2:]
        if not rest:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        res = self.store.resource(group, rest[0])
        if res is None or version not in self.store.served_versions(res):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced is False and ns is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in res.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ctx = {"res": res, "group": group, "version": version, "ns": ns, "name": name,
               "sub": sub, "query": query, "raw": raw, "body": body, "action": action}

        if method == "GET" and name is None:
            if query.get("watch") in ("true", "1"):
                return self.watch(ctx)
            return self.send_json(200, self.list(ctx))
        if method == "GET":
            return self.send_json(200, self.output(ctx, self.get(ctx)))
        if method == "POST" and name is None:
            return self.send_json(201, self.output(ctx, self.create(ctx)))
        if method == "POST" and sub == "token" and res.name == "serviceaccounts":
            return self.send_json(201, self.token_request(ctx))
        if method == "PUT" and name is not None:
            return self.send_json(200, self.output(ctx, self.update(ctx, ctx["body"])))
        if method == "PATCH" and name is not None:
            return self.send_json(200, self.output(ctx, self.patch(ctx)))
        if method == "DELETE" and name is not None:
            return self.send_json(200, self.output(ctx, self.delete(ctx)))
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the "
                       f"requested resource")

    def output(self, ctx, obj):
        obj = copy.deepcopy(obj)
        gv = ctx["version"] if not ctx["group"] else f'{ctx["group"]}/{ctx["version"]}'
        obj["apiVersion"] = gv
        obj["kind"] = ctx["res"].kind
        return obj

    # ----- discovery --------------------------------------------------

    def discovery(self, parts):
        store = self.store
        if parts == ["version"]:
            self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-standin",
                                 "platform": "linux/amd64"})
            return True
        if parts == ["api"]:
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                 "serverAddressByClientCIDRs": [
                                     {"clientCIDR": "0.0.0.0/0",
                                      "serverAddress": f"127.0.0.1:{self.server.server_port}"}]})
            return True
        if parts == ["api", "v1"]:
            self.send_json(200, self.resource_list("", "v1"))
            return True
        if parts == ["apis"]:
            groups = [self.group_doc(g) for g in self.groups() if g]
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
            return True
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in self.groups():
            self.send_json(200, dict(self.group_doc(parts[1]), kind="APIGroup", apiVersion="v1"))
            return True
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in self.groups():
            versions = self.group_versions(parts[1])
            if parts[2] in versions:
                self.send_json(200, self.resource_list(parts[1], parts[2]))
                return True
        if parts == ["openapi", "v3"]:
            paths = {}
            for group in self.groups():
                for version in self.group_versions(group):
                    gv_path = f"api/{version}" if not group else f"apis/{group}/{version}"
                    paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash=standin"}
            self.send_json(200, {"paths": paths})
            return True
        if len(parts) >= 4 and parts[:2] == ["openapi", "v3"]:
            if parts[2] == "api" and len(parts) == 4:
                group, version = "", parts[3]
            elif parts[2] == "apis" and len(parts) == 5:
                group, version = parts[3], parts[4]
            else:
                return False
            if group not in self.groups() or version not in self.group_versions(group):
                return False
            self.send_json(200, self.openapi_v3(group, version))
            return True
        del store
        return False

    def openapi_v3(self, group, version):
        """Build an OpenAPI v3 document with only what kubectl reads from it: which
        PATCH operations exist, their patch media types and the fieldValidation
        query parameter. It carries no schemas."""
        paths = {}
        prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        for res in RESOURCES:
            if res.group != group or version not in self.store.served_versions(res):
                continue
            patch_types = ["application/json-patch+json", "application/merge-patch+json",
                           "application/apply-patch+yaml"]
            if res.builtin:
                patch_types.append("application/strategic-merge-patch+json")
            scope = f"{prefix}/namespaces/{{namespace}}" if res.namespaced else prefix
            paths[f"{scope}/{res.name}/{{name}}"] = {"patch": {
                "operationId": f"patch{res.kind}",
                "parameters": [{"name": "fieldValidation", "in": "query",
                                "schema": {"type": "string", "uniqueItems": True}},
                               {"name": "dryRun", "in": "query",
                                "schema": {"type": "string", "uniqueItems": True}}],
                "requestBody": {"content": {t: {"schema": {"type": "object"}}
                                            for t in patch_types}},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "version": version,
                                                    "kind": res.kind}}}
        return {"openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "v1.32.0-standin"},
                "paths": paths, "components": {"schemas": {}}}

    def groups(self):
        seen = []
        for res in RESOURCES:
            if res.group not in seen:
                seen.append(res.group)
        return seen

    def group_versions(self, group):
        versions = []
        for res in RESOURCES:
            if res.group == group:
                for v in self.store.served_versions(res):
                    if v not in versions:
                        versions.append(v)
        return versions

    def group_doc(self, group):
        versions = self.group_versions(group)
        preferred = GROUP_PREFERRED[group] if GROUP_PREFERRED[group] in versions else versions[0]
        return {"name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {"groupVersion": f"{group}/{preferred}",
                                     "version": preferred}}

    def resource_list(self, group, version):
        items = []
        for res in RESOURCES:
            if res.group != group or version not in self.store.served_versions(res):
                continue
            verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
            items.append({"name": res.name, "singularName": res.singular,
                          "namespaced": res.namespaced, "kind": res.kind, "verbs": verbs,
                          "shortNames": res.short_names})
            for sub in res.subresources:
                items.append({"name": f"{res.name}/{sub}", "singularName": "",
                              "namespaced": res.namespaced,
                              "kind": "TokenRequest" if sub == "token" else res.kind,
                              "group": "authentication.k8s.io" if sub == "token" else None,
                              "version": "v1" if sub == "token" else None,
                              "verbs": ["create"] if sub == "token" else ["get", "patch",
                                                                         "update"]})
        for item in items:
            for key in ("group", "version"):
                if item.get(key) is None:
                    item.pop(key, None)
        gv = version if not group else f"{group}/{version}"
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": items}

    # ----- read -------------------------------------------------------

    def key(self, ctx, name=None):
        res = ctx["res"]
        return (res.group, res.name, ctx["ns"] if res.namespaced else None, name or ctx["name"])

    def get(self, ctx):
        with self.store.cond:
            obj = self.store.objects.get(self.key(ctx))
            if obj is None:
                raise not_found(ctx["res"], ctx["name"])
            return copy.deepcopy(obj)

    def selected(self, ctx, obj):
        query = ctx["query"]
        meta = obj["metadata"]
        for clause in filter(None, query.get("fieldSelector", "").split(",")):
            field, _, value = clause.partition("=")
            field = field.rstrip("=")
            value = value.lstrip("=")
            negate = field.endswith("!")
            field = field.rstrip("!")
            actual = {"metadata.name": meta.get("name"),
                      "metadata.namespace": meta.get("namespace")}.get(field)
            if field not in ("metadata.name", "metadata.namespace"):
                raise ApiError(400, "BadRequest",
                               f'"{field}" is not a known field selector: only '
                               f'"metadata.name", "metadata.namespace"')
            if (actual == value) == negate:
                return False
        labels = meta.get("labels") or {}
        for clause in filter(None, query.get("labelSelector", "").split(",")):
            if "!=" in clause:
                k, v = clause.split("!=", 1)
                if labels.get(k) == v:
                    return False
            elif "=" in clause:
                k, v = clause.replace("==", "=").split("=", 1)
                if labels.get(k) != v:
                    return False
            elif clause.startswith("!"):
                if clause[1:] in labels:
                    return False
            elif clause not in labels:
                return False
        return True

    def matching(self, ctx):
        res = ctx["res"]
        out = []
        for key in sorted(k for k in self.store.objects
                          if k[0] == res.group and k[1] == res.name):
            if res.namespaced and ctx["ns"] is not None and key[2] != ctx["ns"]:
                continue
            obj = self.store.objects[key]
            if self.selected(ctx, obj):
                out.append(self.output(ctx, obj))
        return out

    def list(self, ctx):
        store = self.store
        query = ctx["query"]
        limit = int(query.get("limit") or 0)
        with store.cond:
            token = query.get("continue")
            fixed = ctx["action"].get("fixed_continue")
            if ctx["action"].get("endless_continue"):
                store.endless_pages += 1
                fixed = f"endless-{store.endless_pages}"
            if fixed:
                # A broken server: the first page again, with this continue token.
                items = self.matching(ctx)
                page = items[:limit] if limit > 0 else items
                gv = ctx["version"] if not ctx["group"] else f'{ctx["group"]}/{ctx["version"]}'
                return {"kind": ctx["res"].kind + "List", "apiVersion": gv,
                        "metadata": {"resourceVersion": str(store.rv), "continue": fixed},
                        "items": page}
            if token:
                try:
                    decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                    snap_id, offset = decoded["id"], int(decoded["offset"])
                except (ValueError, KeyError, TypeError):
                    raise ApiError(400, "BadRequest", "continue key is not valid")
                snap = store.snapshots.get(snap_id)
                if snap is None or time.time() - snap["created"] > store.continue_ttl:
                    store.snapshots.pop(snap_id, None)
                    err = ApiError(410, "Expired",
                                   "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without "
                                   "the continue parameter, or use the continue token in this "
                                   "response to retrieve the remainder of the results. "
                                   "Continuing with the provided token results in an "
                                   "inconsistent list - objects that were created, modified, "
                                   "or deleted between the time the first chunk was returned "
                                   "and now may show up in the list.")
                    raise err
                items, rv = snap["items"], snap["rv"]
            else:
                items, rv, offset, snap_id = self.matching(ctx), str(store.rv), 0, None
            page = items[offset:offset + limit] if limit > 0 else items[offset:]
            meta = {"resourceVersion": rv}
            end = offset + len(page)
            if end < len(items):
                if snap_id is None:
                    snap_id = pysecrets.token_hex(8)
                    store.snapshots[snap_id] = {"items": items, "rv": rv,
                                                "created": time.time()}
                meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps({"id": snap_id, "offset": end}).encode()).decode()
                meta["remainingItemCount"] = len(items) - end
        gv = ctx["version"] if not ctx["group"] else f'{ctx["group"]}/{ctx["version"]}'
        return {"kind": ctx["res"].kind + "List", "apiVersion": gv, "metadata": meta,
                "items": page}

    # ----- watch ------------------------------------------------------

    def send_endless(self, prefix):
        """Send a 200 reply of prefix and then filler bytes until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        self.stream_endless(prefix)
        return 200

    def stream_endless(self, prefix):
        """Write prefix, then filler chunks with no closing quote, until the client
        hangs up or ENDLESS_LIMIT bytes have gone out."""
        filler = b"a" * (1 << 20)
        try:
            self.write_chunk(prefix, 0)
            for _ in range(ENDLESS_LIMIT // len(filler)):
                self.write_chunk(filler, 0)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def write_chunk(self, data, chunk_size):
        pieces = [data] if chunk_size <= 0 else [data[i:i + chunk_size]
                                                 for i in range(0, len(data), chunk_size)]
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if chunk_size > 0:
                time.sleep(0.0005)

    def watch(self, ctx):
        store = self.store
        query = ctx["query"]
        action = ctx["action"]
        rv_text = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.time() + timeout
        close_after = action.get("close_after_events")
        cut_after = action.get("cut_after_events")
        error_after = action.get("error_410_after")
        chunk_size = int(action.get("chunk_size", store.chunk_size))
        if rv_text not in ("", "0") and not rv_text.isdigit():
            raise ApiError(400, "BadRequest", f'invalid resource version: "{rv_text}"')

        with store.cond:
            start_rv = int(rv_text) if rv_text not in ("", "0") else None
            expired = start_rv is not None and start_rv < store.compacted_rv
            if action.get("http_410"):
                raise ApiError(410, "Expired", f"too old resource version: {start_rv} "
                               f"({store.compacted_rv})")
            initial = []
            if start_rv is None:
                initial = [("ADDED", obj) for obj in self.matching(ctx)]
                start_rv = store.rv
            position = len(store.history)
            for i, (rv, _, _, _) in enumerate(store.history):
                if rv > start_rv:
                    position = i
                    break
            queue = []
            store.open_watches.append(queue)

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        sent = 0
        last_rv = start_rv
        last_bookmark = time.time()

        def emit(event_type, obj):
            nonlocal sent
            line = json.dumps({"type": event_type, "object": obj}).encode() + b"\n"
            if cut_after is not None and sent >= cut_after:
                self.write_chunk(line[:len(line) // 2], chunk_size)
                raise CutStream()
            self.write_chunk(line, chunk_size)
            sent += 1

        try:
            if expired:
                emit("ERROR", ApiError(410, "Expired", f"too old resource version: {start_rv} "
                                       f"({store.compacted_rv})").status())
                return 200
            for event_type, obj in initial:
                emit(event_type, obj)
            if action.get("endless_event"):
                self.stream_endless(b'{"type":"ADDED","object":{"metadata":{"name":"endless"},'
                                    b'"data":{"key":"')
                return 200
            while True:
                if close_after is not None and sent >= close_after:
                    return 200
                if error_after is not None and sent >= error_after:
                    emit("ERROR", ApiError(410, "Expired", f"too old resource version: "
                                           f"{last_rv} ({store.rv})").status())
                    return 200
                with store.cond:
                    if queue:
                        queue.clear()
                        emit("ERROR", ApiError(410, "Expired", "too old resource version: "
                                               f"{last_rv} ({store.compacted_rv})").status())
                        return 200
                    if position > len(store.history):
                        position = len(store.history)
                    pending = store.history[position:]
                    position = len(store.history)
                    if not pending:
                        wait = 0.5
                        if bookmarks and store.bookmark_interval > 0:
                            wait = min(wait, store.bookmark_interval)
                        store.cond.wait(timeout=min(wait, max(0.0, deadline - time.time())))
                        pending = store.history[position:]
                        position = len(store.history)
                    current_rv = store.rv
                for rv, res, event_type, obj in pending:
                    if res is not ctx["res"]:
                        continue
                    if ctx["res"].namespaced and ctx["ns"] is not None and \
                            obj["metadata"].get("namespace") != ctx["ns"]:
                        continue
                    if not self.selected(ctx, obj):
                        continue
                    emit(event_type, self.output(ctx, obj))
                    last_rv = rv
                    if close_after is not None and sent >= close_after:
                        break
                    if error_after is not None and sent >= error_after:
                        break
                if bookmarks and store.bookmark_interval > 0 and \
                        time.time() - last_bookmark >= store.bookmark_interval:
                    gv = ctx["version"] if not ctx["group"] else \
                        f'{ctx["group"]}/{ctx["version"]}'
                    emit("BOOKMARK", {"kind": ctx["res"].kind, "apiVersion": gv,
                                      "metadata": {"resourceVersion": str(current_rv)}})
                    last_rv = current_rv
                    last_bookmark = time.time()
                if time.time() >= deadline:
                    return 200
        except CutStream:
            return 200
        finally:
            with store.cond:
                if queue in store.open_watches:
                    store.open_watches.remove(queue)
            try:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                pass

    # ----- validation -------------------------------------------------

    def validate(self, ctx, obj, old):
        res = ctx["res"]
        name = obj["metadata"].get("name", "")
        causes = []
        if res.name == "secrets":
            causes += self.validate_secret(obj, old)
        elif res.name == "leases":
            causes += self.validate_lease(obj)
        elif res.name == "events" and res.group == "events.k8s.io":
            causes += self.validate_new_event(ctx, obj, old)
        elif res.name == "events":
            causes += self.validate_core_event(ctx, obj)
        if causes:
            raise invalid(res, name, causes)

    def validate_secret(self, obj, old):
        causes = []
        for key, value in (obj.get("data") or {}).items():
            if not SECRET_KEY_RE.match(key) or len(key) > 253:
                causes.append(("FieldValueInvalid", f"data[{key}]",
                               f'Invalid value: "{key}": a valid config key must consist of '
                               "alphanumeric characters, '-', '_' or '.'"))
            try:
                base64.b64decode(value, validate=True)
            except (ValueError, TypeError):
                causes.append(("FieldValueInvalid", f"data[{key}]", "Invalid value: "
                               "illegal base64 data"))
        if old is not None:
            if obj.get("type") != old.get("type"):
                causes.append(("FieldValueInvalid", "type",
                               f'Invalid value: "{obj.get("type")}": field is immutable'))
            if old.get("immutable") is True:
                if obj.get("immutable") is not True:
                    causes.append(("FieldValueForbidden", "immutable",
                                   "Forbidden: field is immutable when `immutable` is set"))
                if (obj.get("data") or {}) != (old.get("data") or {}):
                    causes.append(("FieldValueForbidden", "data",
                                   "Forbidden: field is immutable when `immutable` is set"))
        return causes

    def validate_lease(self, obj):
        spec = obj.get("spec") or {}
        causes = []
        for field in ("acquireTime", "renewTime"):
            value = spec.get(field)
            if value is not None and not MICROTIME_RE.match(str(value)):
                raise ApiError(400, "BadRequest",
                               f'Lease in version "v1" cannot be handled as a Lease: '
                               f'parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00": '
                               f'cannot parse as MicroTime')
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            causes.append(("FieldValueInvalid", "spec.leaseDurationSeconds",
                           f"Invalid value: {duration}: must be greater than 0"))
        transitions = spec.get("leaseTransitions")
        if transitions is not None and (not isinstance(transitions, int) or transitions < 0):
            causes.append(("FieldValueInvalid", "spec.leaseTransitions",
                           f"Invalid value: {transitions}: must be greater than or equal to 0"))
        return causes

    def validate_new_event(self, ctx, obj, old):
        causes = []
        name = obj["metadata"].get("name", "")
        if not DNS_SUBDOMAIN_RE.match(name) or len(name) > 253:
            causes.append(("FieldValueInvalid", "metadata.name",
                           f'Invalid value: "{name}": must be a DNS subdomain'))
        event_time = obj.get("eventTime")
        if not event_time:
            causes.append(("FieldValueRequired", "eventTime", "Required value"))
        elif not MICROTIME_RE.match(str(event_time)):
            raise ApiError(400, "BadRequest", f'parsing time "{event_time}" as '
                           '"2006-01-02T15:04:05.000000Z07:00": cannot parse as MicroTime')

        for field in ("deprecatedSource", "deprecatedFirstTimestamp",
                      "deprecatedLastTimestamp", "deprecatedCount"):
            if obj.get(field) not in (None, {}, 0, ""):
                causes.append(("FieldValueInvalid", field, "Invalid value: needs to be unset"))
        controller = obj.get("reportingController") or ""
        if not controller:
            causes.append(("FieldValueRequired", "reportingController", "Required value"))
        elif not self.qualified(controller):
            causes.append(("FieldValueInvalid", "reportingController",
                           f'Invalid value: "{controller}": must be a qualified name'))
        for field in ("reportingInstance", "action", "reason"):
            value = obj.get(field) or ""
            if not value:
                causes.append(("FieldValueRequired", field, "Required value"))
            elif len(value) > 128:
                causes.append(("FieldValueInvalid", field,
                               "Invalid value: can have at most 128 characters"))
        note = obj.get("note") or ""
        if len(note.encode()) > 1024:
            causes.append(("FieldValueInvalid", "note",
                           "Invalid value: can have at most 1024 characters"))
        if obj.get("type") not in ("Normal", "Warning"):
            causes.append(("FieldValueNotSupported", "type",
                           f'Unsupported value: "{obj.get("type")}": supported values: '
                           '"Normal", "Warning"'))

        series = obj.get("series")
        if series is not None:
            if not isinstance(series.get("count"), int) or series["count"] < 2:
                causes.append(("FieldValueInvalid", "series.count",
                               "Invalid value: should be at least 2"))
            if not series.get("lastObservedTime"):
                causes.append(("FieldValueRequired", "series.lastObservedTime",
                               "Required value"))
            elif not MICROTIME_RE.match(str(series["lastObservedTime"])):
                raise ApiError(400, "BadRequest", "series.lastObservedTime: cannot parse as "
                               "MicroTime")
        if old is not None:
            for field in ("eventTime", "reportingController", "reportingInstance", "action",
                          "reason", "note", "type", "regarding", "related"):
                if obj.get(field) != old.get(field):
                    causes.append(("FieldValueInvalid", field,
                                   "Invalid value: field is immutable"))
        return causes

    def validate_core_event(self, ctx, obj):
        causes = []
        involved = obj.get("involvedObject") or {}
        if obj.get("eventTime"):
            if not obj.get("reportingComponent"):
                causes.append(("FieldValueRequired", "reportingComponent", "Required value"))
            if not obj.get("reportingInstance"):
                causes.append(("FieldValueRequired", "reportingInstance", "Required value"))
            if not obj.get("action"):
                causes.append(("FieldValueRequired", "action", "Required value"))
            if len((obj.get("message") or "").encode()) > 1024:
                causes.append(("FieldValueInvalid", "message",
                               "Invalid value: can have at most 1024 characters"))
        elif involved.get("namespace") and involved.get("namespace") != ctx["ns"]:
            causes.append(("FieldValueInvalid", "involvedObject.namespace",
                           "Invalid value: does not match event.namespace"))
        return causes

    @staticmethod
    def qualified(name):
        prefix, _, local = name.rpartition("/")
        if prefix and (not DNS_SUBDOMAIN_RE.match(prefix) or len(prefix) > 253):
            return False
        return bool(QUALIFIED_NAME_RE.match(local)) and len(local) <= 63

    # ----- write ------------------------------------------------------

    def check_body(self, ctx, obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown "
                           "format - accepted media types include: application/json")
        obj.setdefault("metadata", {})
        if obj["metadata"] is None:
            obj["metadata"] = {}
        kind = obj.get("kind")
        if kind is not None and kind != ctx["res"].kind:
            raise ApiError(400, "BadRequest", f"the API version in the data does not match "
                           f"the expected kind {ctx['res'].kind}")

    def check_namespace(self, ctx):
        if not ctx["res"].namespaced:
            return
        ns = ctx["ns"]
        if ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns_obj = self.store.objects.get(("", "namespaces", None, ns))
        if ns_obj is None:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                           {"name": ns, "kind": "namespaces"})
        if "deletionTimestamp" in ns_obj["metadata"]:
            raise ApiError(403, "Forbidden",
                           f'{resource_label(ctx["res"])} "{ctx.get("name") or ""}" is '
                           f'forbidden: unable to create new content in namespace {ns} because '
                           f'it is being terminated',
                           {"name": ctx.get("name") or "", "kind": ctx["res"].name,
                            "causes": [{"reason": "NamespaceTerminating",
                                        "message": f"namespace {ns} is being terminated",
                                        "field": "metadata.namespace"}]})

    def create(self, ctx):
        store = self.store
        res = ctx["res"]
        obj = copy.deepcopy(ctx["body"])
        self.check_body(ctx, obj)
        meta = obj["metadata"]
        with store.cond:
            self.check_namespace(ctx)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + pysecrets.token_hex(3)[:5]
            name = meta.get("name")
            if not name:
                raise invalid(res, "", [("FieldValueRequired", "metadata.name",
                                         "Required value: name or generateName is required")])
            name_re = DNS_LABEL_RE if res.name == "namespaces" else DNS_SUBDOMAIN_RE
            if not name_re.match(name) or len(name) > 253:
                raise invalid(res, name, [("FieldValueInvalid", "metadata.name",
                                           f'Invalid value: "{name}": a lowercase RFC 1123 '
                                           "subdomain must consist of lower case alphanumeric "
                                           "characters, '-' or '.'")])
            if res.namespaced and meta.get("namespace") not in (None, "", ctx["ns"]):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does "
                               "not match the namespace sent on the request")
            for field in ("uid", "resourceVersion", "deletionTimestamp", "creationTimestamp",
                          "generation"):
                meta.pop(field, None)
            if res.name == "secrets":
                self.normalise_secret(obj)
            if res.name == "namespaces":
                obj["status"] = {"phase": "Active"}
                obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            self.validate(ctx, obj, None)
            key = self.key(ctx, name)
            if key in store.objects:
                raise ApiError(409, "AlreadyExists",
                               f'{resource_label(res)} "{name}" already exists',
                               {"name": name, "group": res.group, "kind": res.name})
            obj["apiVersion"] = self.storage_gv(res)
            obj["kind"] = res.kind
            return store._put_new(res, ctx["ns"] if res.namespaced else None, obj)

    @staticmethod
    def storage_gv(res):
        return res.versions[0] if not res.group else f"{res.group}/{res.versions[0]}"

    @staticmethod
    def normalise_secret(obj):
        string_data = obj.pop("stringData", None) or {}
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            obj["data"] = data
        obj.setdefault("type", "Opaque")

    def update(self, ctx, new_obj):
        store = self.store
        res = ctx["res"]
        obj = copy.deepcopy(new_obj)
        self.check_body(ctx, obj)
        meta = obj["metadata"]
        with store.cond:
            key = self.key(ctx)
            old = store.objects.get(key)
            if meta.get("name") not in (None, ctx["name"]):
                raise ApiError(400, "BadRequest", "the name of the object "
                               f'({meta.get("name")}) does not match the name on the URL '
                               f'({ctx["name"]})')
            if old is None:
                raise not_found(res, ctx["name"])
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, ctx["name"], "the object has been modified; please apply "
                               "your changes to the latest version and try again")
            meta["name"] = ctx["name"]
            if res.namespaced:
                meta["namespace"] = ctx["ns"]
            for field in ("uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"):
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
                else:
                    meta.pop(field, None)
            if ctx["sub"] == "status":
                merged = copy.deepcopy(old)
                merged["status"] = obj.get("status")
                if merged["status"] is None:
                    merged.pop("status")
                obj = merged
            elif "status" in res.subresources and res.name != "namespaces":
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
            if res.name == "secrets":
                self.normalise_secret(obj)
            if res.name == "namespaces":
                obj["status"] = old.get("status")
            if not res.builtin and ctx["sub"] != "status" and obj.get("spec") != old.get("spec"):
                obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            self.validate(ctx, obj, old)
            obj["apiVersion"] = old["apiVersion"]
            obj["kind"] = res.kind
            if "deletionTimestamp" in obj["metadata"] and not obj["metadata"].get("finalizers"):
                store._put_update(res, key, obj)
                return store._remove(res, key)
            return store._put_update(res, key, obj)

    def patch(self, ctx):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        res = ctx["res"]
        if content_type == "application/strategic-merge-patch+json" and not res.builtin:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                           "unknown format - accepted media types include: "
                           "application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml")
        if content_type not in ("application/merge-patch+json",
                                "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType",
                           f'the stand-in does not support patch type "{content_type}"')
        patch = ctx["body"]
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "invalid JSON patch document")
        with self.store.cond:
            old = self.store.objects.get(self.key(ctx))
            if old is None:
                raise not_found(res, ctx["name"])
            merged = merge_patch(copy.deepcopy(old), patch)
            if "resourceVersion" not in (patch.get("metadata") or {}):
                merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self.update(ctx, merged)

    def delete(self, ctx):
        store = self.store
        res = ctx["res"]
        options = ctx["body"] or {}
        pre = options.get("preconditions") or {}
        with store.cond:
            key = self.key(ctx)
            obj = store.objects.get(key)
            if obj is None:
                raise not_found(res, ctx["name"])
            meta = obj["metadata"]
            storage_key = "/registry/" + "/".join(
                p for p in (res.name, ctx["ns"], ctx["name"]) if p)
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise conflict(res, ctx["name"], "StorageError: invalid object, Code: 4, Key: "
                               f"{storage_key}, ResourceVersion: 0, AdditionalErrorMsg: "
                               f"Precondition failed: UID in precondition: {pre['uid']}, "
                               f"UID in object meta: {meta['uid']}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(res, ctx["name"], "StorageError: invalid object, Code: 4, Key: "
                               f"{storage_key}, ResourceVersion: 0, AdditionalErrorMsg: "
                               "Precondition failed: ResourceVersion in precondition: "
                               f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                               f"{meta['resourceVersion']}")
            if res.name == "namespaces":
                return self.delete_namespace(key, obj)
            if meta.get("finalizers"):
                if "deletionTimestamp" not in meta:
                    updated = copy.deepcopy(obj)
                    updated["metadata"]["deletionTimestamp"] = now_rfc3339()
                    updated["metadata"]["deletionGracePeriodSeconds"] = 0
                    return store._put_update(res, key, updated)
                return copy.deepcopy(obj)
            return store._remove(res, key)

    def delete_namespace(self, key, obj):
        store = self.store
        ns_res = store.resource("", "namespaces")
        name = key[3]
        if "deletionTimestamp" not in obj["metadata"]:
            updated = copy.deepcopy(obj)
            updated["metadata"]["deletionTimestamp"] = now_rfc3339()
            updated["status"] = {"phase": "Terminating"}
            obj = store._put_update(ns_res, key, updated)
        for child_key in [k for k in store.objects if k[2] == name]:
            child = store.objects[child_key]
            child_res = store.resource(child_key[0], child_key[1])
            if child["metadata"].get("finalizers"):
                if "deletionTimestamp" not in child["metadata"]:
                    updated = copy.deepcopy(child)
                    updated["metadata"]["deletionTimestamp"] = now_rfc3339()
                    store._put_update(child_res, child_key, updated)
            else:
                store._remove(child_res, child_key)
        store._finish_namespaces()
        return copy.deepcopy(store.objects.get(key, obj))

    def token_request(self, ctx):
        store = self.store
        spec = (ctx["body"] or {}).get("spec") or {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise ApiError(422, "Invalid", "TokenRequest.authentication.k8s.io "
                           f'"{ctx["name"]}" is invalid: spec.expirationSeconds: Invalid value: '
                           f"{seconds}: may not specify a duration less than 10 minutes",
                           {"name": ctx["name"], "group": "authentication.k8s.io",
                            "kind": "TokenRequest",
                            "causes": [{"reason": "FieldValueInvalid",
                                        "field": "spec.expirationSeconds",
                                        "message": "may not specify a duration less than "
                                                   "10 minutes"}]})
        with store.cond:
            if store.objects.get(self.key(ctx)) is None:
                raise not_found(ctx["res"], ctx["name"])
            token = "sa-" + pysecrets.token_urlsafe(24)
            expires = time.time() + seconds
            store.tokens[token] = {"user": f'system:serviceaccount:{ctx["ns"]}:{ctx["name"]}',
                                   "expires": expires}
        stamp = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": ctx["name"], "namespace": ctx["ns"],
                             "creationTimestamp": None},
                "spec": {"audiences": spec.get("audiences") or ["https://kubernetes.default.svc"],
                         "expirationSeconds": seconds, "boundObjectRef": None},
                "status": {"token": token, "expirationTimestamp": stamp}}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store, context, verbose):
        super().__init__(address, Handler)
        self.store = store
        self.context = context
        self.verbose = verbose

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs on the first read, in the request's own thread,
        # so a slow client cannot stall accept().
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls, addr

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 picks a free one")
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--client-ca", help="CA that signs accepted client certificates")
    parser.add_argument("--token", action="append", default=[],
                        help="bearer token accepted for user 'admin' (repeatable)")
    parser.add_argument("--ready-file", required=True,
                        help="file written with {\"port\": N} once the server listens")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(args.client_ca)
    store = Store({t: {"user": "admin", "expires": None} for t in args.token})
    server = Server(("127.0.0.1", args.port), store, context, args.verbose)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as ready:
        json.dump({"port": server.server_port, "pid": os.getpid()}, ready)
    os.replace(tmp, args.ready_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
