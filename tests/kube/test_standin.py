#!/usr/bin/env python3
"""Check each behaviour of the stand-in API server on its own, before any client
is tested against it."""

import base64
import json
import sys
import time
import unittest

from standin_ctl import StandIn, run_suite, watch_events

SERVER = None


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(name, data=None, immutable=None, finalizers=None):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
           "data": {k: b64(v) for k, v in (data or {"k": "v"}).items()}}
    if immutable is not None:
        obj["immutable"] = immutable
    if finalizers:
        obj["metadata"]["finalizers"] = finalizers
    return obj


def microtime():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + \
        f".{int((now % 1) * 1e6):06d}Z"


class Base(unittest.TestCase):
    ns_counter = 0

    def setUp(self):
        self.s = SERVER
        self.s.control("faults/clear")
        self.s.control("settings", {"bookmark_interval": 0, "chunk_size": 0,
                                    "continue_ttl": 300,
                                    "served_versions": {"external-secrets.io":
                                                        ["v1", "v1beta1"]}})
        Base.ns_counter += 1
        self.ns = f"t{Base.ns_counter}"
        status, _, _ = self.s.request("POST", "/api/v1/namespaces",
                                      {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": self.ns}})
        self.assertEqual(status, 201)

    def path(self, resource="secrets", name=None):
        base = f"/api/v1/namespaces/{self.ns}/{resource}"
        return base + ("/" + name if name else "")


class Auth(Base):
    def test_missing_token_is_401(self):
        status, _, body = self.s.request("GET", "/api/v1/namespaces", token="")
        self.assertEqual(status, 401)
        self.assertEqual(body["reason"], "Unauthorized")

    def test_unknown_token_is_401(self):
        status, _, _ = self.s.request("GET", "/api/v1/namespaces", token="nope")
        self.assertEqual(status, 401)

    def test_client_certificate_is_accepted(self):
        status, _, _ = self.s.request("GET", "/api/v1/namespaces", token="", client_cert=True)
        self.assertEqual(status, 200)
        self.assertEqual(self.s.log()[-1]["user"], "ig-client")

    def test_token_expires_after_ttl(self):
        self.s.control("tokens", {"token": "short-lived", "user": "u", "ttl": 0.5})
        first, _, _ = self.s.request("GET", "/api/v1/namespaces", token="short-lived")
        time.sleep(0.7)
        second, _, _ = self.s.request("GET", "/api/v1/namespaces", token="short-lived")
        self.assertEqual(first, 200)
        self.assertEqual(second, 401)

    def test_token_request_issues_working_token(self):
        status, _, _ = self.s.request("POST", self.path("serviceaccounts"),
                                      {"metadata": {"name": "sa1"}})
        self.assertEqual(status, 201)
        status, _, body = self.s.request("POST", self.path("serviceaccounts", "sa1") + "/token",
                                         {"spec": {"expirationSeconds": 3600}})
        self.assertEqual(status, 201)
        token = body["status"]["token"]
        status, _, _ = self.s.request("GET", self.path(), token=token)
        self.assertEqual(status, 200)
        self.assertEqual(self.s.log()[-1]["user"], f"system:serviceaccount:{self.ns}:sa1")


class Discovery(Base):
    def test_core_resources_listed(self):
        status, _, body = self.s.request("GET", "/api/v1")
        names = {r["name"]: r for r in body["resources"]}
        self.assertEqual(status, 200)
        self.assertTrue(names["secrets"]["namespaced"])
        self.assertEqual(names["secrets"]["kind"], "Secret")
        self.assertIn("watch", names["secrets"]["verbs"])

    def test_groups_prefer_v1(self):
        status, _, body = self.s.request("GET", "/apis")
        groups = {g["name"]: g for g in body["groups"]}
        es = groups["external-secrets.io"]
        self.assertEqual(status, 200)
        self.assertEqual(es["preferredVersion"]["version"], "v1")
        self.assertEqual([v["version"] for v in es["versions"]], ["v1", "v1beta1"])
        self.assertIn("coordination.k8s.io", groups)
        self.assertIn("events.k8s.io", groups)

    def test_only_v1beta1_served(self):
        self.s.control("settings", {"served_versions": {"external-secrets.io": ["v1beta1"]}})
        _, _, group = self.s.request("GET", "/apis/external-secrets.io")
        v1, _, _ = self.s.request("GET", "/apis/external-secrets.io/v1/externalsecrets")
        beta, _, _ = self.s.request("GET", "/apis/external-secrets.io/v1beta1/externalsecrets")
        self.assertEqual([v["version"] for v in group["versions"]], ["v1beta1"])
        self.assertEqual(v1, 404)
        self.assertEqual(beta, 200)


class Writes(Base):
    def test_create_then_already_exists(self):
        first, _, obj = self.s.request("POST", self.path(), secret("a"))
        second, _, err = self.s.request("POST", self.path(), secret("a"))
        self.assertEqual(first, 201)
        self.assertTrue(obj["metadata"]["uid"])
        self.assertEqual(second, 409)
        self.assertEqual(err["reason"], "AlreadyExists")
        self.assertEqual(err["details"]["kind"], "secrets")

    def test_missing_namespace_is_404(self):
        status, _, err = self.s.request("POST", "/api/v1/namespaces/absent/secrets", secret("a"))
        self.assertEqual(status, 404)
        self.assertEqual(err["reason"], "NotFound")

    def test_stale_put_is_conflict(self):
        _, _, obj = self.s.request("POST", self.path(), secret("a"))
        obj["metadata"]["labels"] = {"x": "1"}
        ok, _, newer = self.s.request("PUT", self.path(name="a"), obj)
        obj["metadata"]["labels"] = {"x": "2"}
        stale, _, err = self.s.request("PUT", self.path(name="a"), obj)
        self.assertEqual(ok, 200)
        self.assertNotEqual(newer["metadata"]["resourceVersion"],
                            obj["metadata"]["resourceVersion"])
        self.assertEqual(stale, 409)
        self.assertEqual(err["reason"], "Conflict")
        self.assertIn("the object has been modified", err["message"])

    def test_immutable_data_change_is_invalid(self):
        _, _, obj = self.s.request("POST", self.path(), secret("a", immutable=True))
        obj["data"] = {"k": b64("other")}
        status, _, err = self.s.request("PUT", self.path(name="a"), obj)
        self.assertEqual(status, 422)
        self.assertEqual(err["reason"], "Invalid")
        self.assertEqual(err["details"]["kind"], "Secret")
        self.assertEqual(err["details"]["causes"][0]["field"], "data")
        self.assertEqual(err["details"]["causes"][0]["reason"], "FieldValueForbidden")

    def test_immutable_cannot_be_unset(self):
        _, _, obj = self.s.request("POST", self.path(), secret("a", immutable=True))
        obj["immutable"] = False
        obj["data"] = {"k": b64("other")}
        status, _, err = self.s.request("PUT", self.path(name="a"), obj)
        fields = sorted(c["field"] for c in err["details"]["causes"])
        self.assertEqual(status, 422)
        self.assertEqual(fields, ["data", "immutable"])
        self.assertTrue(err["message"].startswith('Secret "a" is invalid: ['))

    def test_immutable_metadata_change_allowed(self):
        _, _, obj = self.s.request("POST", self.path(), secret("a", immutable=True))
        obj["metadata"]["annotations"] = {"note": "ok"}
        status, _, _ = self.s.request("PUT", self.path(name="a"), obj)
        self.assertEqual(status, 200)

    def test_delete_uid_precondition(self):
        _, _, obj = self.s.request("POST", self.path(), secret("a"))
        options = {"kind": "DeleteOptions", "apiVersion": "v1",
                   "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
        status, _, err = self.s.request("DELETE", self.path(name="a"), options)
        self.assertEqual(status, 409)
        self.assertEqual(err["reason"], "Conflict")
        self.assertIn("Precondition failed: UID in precondition", err["message"])
        options["preconditions"]["uid"] = obj["metadata"]["uid"]
        status, _, _ = self.s.request("DELETE", self.path(name="a"), options)
        self.assertEqual(status, 200)
        status, _, _ = self.s.request("GET", self.path(name="a"))
        self.assertEqual(status, 404)

    def test_delete_resource_version_precondition(self):
        self.s.request("POST", self.path(), secret("a"))
        options = {"preconditions": {"resourceVersion": "1"}}
        status, _, err = self.s.request("DELETE", self.path(name="a"), options)
        self.assertEqual(status, 409)
        self.assertIn("Precondition failed: ResourceVersion in precondition: 1", err["message"])

    def test_terminating_object_holds_name(self):
        self.s.request("POST", self.path(), secret("a", finalizers=["example.com/hold"]))
        status, _, deleted = self.s.request("DELETE", self.path(name="a"))
        self.assertEqual(status, 200)
        self.assertIn("deletionTimestamp", deleted["metadata"])
        status, _, err = self.s.request("POST", self.path(), secret("a"))
        self.assertEqual(status, 409)
        self.assertEqual(err["reason"], "AlreadyExists")
        deleted["metadata"]["finalizers"] = []
        status, _, _ = self.s.request("PUT", self.path(name="a"), deleted)
        self.assertEqual(status, 200)
        status, _, _ = self.s.request("GET", self.path(name="a"))
        self.assertEqual(status, 404)

    def test_terminating_namespace_rejects_create(self):
        self.s.request("POST", self.path(), secret("held", finalizers=["example.com/hold"]))
        self.s.request("DELETE", f"/api/v1/namespaces/{self.ns}")
        status, _, err = self.s.request("POST", self.path(), secret("b"))
        self.assertEqual(status, 403)
        self.assertEqual(err["details"]["causes"][0]["reason"], "NamespaceTerminating")

    def test_status_subresource_merge_patch(self):
        path = f"/apis/external-secrets.io/v1/namespaces/{self.ns}/externalsecrets"
        es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
              "metadata": {"name": "e"}, "spec": {"refreshInterval": "1h"}}
        _, _, created = self.s.request("POST", path, es)
        status, _, patched = self.s.request(
            "PATCH", path + "/e/status", {"status": {"refreshTime": "x"}},
            content_type="application/merge-patch+json")
        self.assertEqual(status, 200)
        self.assertEqual(patched["status"], {"refreshTime": "x"})
        self.assertEqual(patched["spec"], {"refreshInterval": "1h"})
        self.assertEqual(patched["metadata"]["generation"], created["metadata"]["generation"])
        patched["spec"]["refreshInterval"] = "2h"
        patched["status"] = {"refreshTime": "ignored"}
        _, _, updated = self.s.request("PUT", path + "/e", patched)
        self.assertEqual(updated["status"], {"refreshTime": "x"})
        self.assertEqual(updated["metadata"]["generation"], 2)

    def test_strategic_patch_on_custom_resource_is_415(self):
        path = f"/apis/external-secrets.io/v1/namespaces/{self.ns}/secretstores"
        self.s.request("POST", path, {"metadata": {"name": "st"}, "spec": {}})
        status, _, err = self.s.request("PATCH", path + "/st", {"metadata": {"labels": {}}},
                                        content_type="application/strategic-merge-patch+json")
        self.assertEqual(status, 415)
        self.assertEqual(err["reason"], "UnsupportedMediaType")

    def test_v1beta1_object_reads_as_v1(self):
        beta = f"/apis/external-secrets.io/v1beta1/namespaces/{self.ns}/externalsecrets"
        self.s.request("POST", beta, {"metadata": {"name": "e"}, "spec": {}})
        _, _, obj = self.s.request(
            "GET", f"/apis/external-secrets.io/v1/namespaces/{self.ns}/externalsecrets/e")
        self.assertEqual(obj["apiVersion"], "external-secrets.io/v1")


class Lists(Base):
    def fill(self, count):
        for i in range(count):
            self.s.request("POST", self.path("configmaps"),
                           {"metadata": {"name": f"cm{i}"}, "data": {"i": str(i)}})

    def test_pages_share_resource_version(self):
        self.fill(5)
        _, _, first = self.s.request("GET", self.path("configmaps") + "?limit=2")
        token = first["metadata"]["continue"]
        self.s.request("POST", self.path("configmaps"), {"metadata": {"name": "late"}})
        _, _, second = self.s.request("GET", self.path("configmaps") + f"?limit=2&continue={token}")
        _, _, third = self.s.request(
            "GET", self.path("configmaps") + f'?limit=2&continue={second["metadata"]["continue"]}')
        names = [i["metadata"]["name"] for p in (first, second, third) for i in p["items"]]
        self.assertEqual(names, ["cm0", "cm1", "cm2", "cm3", "cm4"])
        self.assertEqual(first["metadata"]["resourceVersion"],
                         third["metadata"]["resourceVersion"])
        self.assertNotIn("continue", third["metadata"])

    def test_continue_token_expires(self):
        self.fill(3)
        self.s.control("settings", {"continue_ttl": 0.2})
        _, _, first = self.s.request("GET", self.path("configmaps") + "?limit=1")
        time.sleep(0.3)
        status, _, err = self.s.request(
            "GET", self.path("configmaps") + f'?limit=1&continue={first["metadata"]["continue"]}')
        self.assertEqual(status, 410)
        self.assertEqual(err["reason"], "Expired")

    def test_fixed_continue_repeats_first_page(self):
        self.fill(3)
        self.s.control("faults", {"match": {"path_contains": self.ns}, "times": 2,
                                  "action": {"fixed_continue": "stuck"}})
        _, _, first = self.s.request("GET", self.path("configmaps") + "?limit=1")
        _, _, second = self.s.request("GET", self.path("configmaps") + "?limit=1&continue=stuck")
        for page in (first, second):
            self.assertEqual(page["metadata"]["continue"], "stuck")
            self.assertEqual([i["metadata"]["name"] for i in page["items"]], ["cm0"])

    def test_endless_continue_changes_token(self):
        self.fill(1)
        self.s.control("faults", {"match": {"path_contains": self.ns}, "times": 2,
                                  "action": {"endless_continue": True}})
        _, _, first = self.s.request("GET", self.path("configmaps") + "?limit=1")
        token = first["metadata"]["continue"]
        _, _, second = self.s.request("GET", self.path("configmaps") + f"?limit=1&continue={token}")
        self.assertTrue(second["metadata"]["continue"])
        self.assertNotEqual(second["metadata"]["continue"], token)

    def test_endless_body_never_ends(self):
        self.s.control("faults", {"match": {"path_contains": self.ns}, "times": 1,
                                  "action": {"endless_body": True}})
        conn = self.s.connect()
        conn.request("GET", self.path("configmaps"),
                     headers={"Authorization": "Bearer " + self.s.token})
        resp = conn.getresponse()
        data = resp.read(3 << 20)
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(data), 3 << 20)
        self.assertTrue(data.startswith(b'{"kind":"List"'))
        self.assertEqual(data[-1024:], b"a" * 1024)

    def test_field_selector_by_name(self):
        self.fill(3)
        _, _, body = self.s.request("GET", self.path("configmaps") +
                                    "?fieldSelector=metadata.name%3Dcm1")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["cm1"])


class Watches(Base):
    def list_rv(self):
        _, _, body = self.s.request("GET", self.path())
        return body["metadata"]["resourceVersion"]

    def test_events_after_resource_version(self):
        rv = self.list_rv()
        self.s.request("POST", self.path(), secret("a"))
        self.s.request("DELETE", self.path(name="a"))
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=1")
        events = watch_events(chunks)
        self.assertEqual([e["type"] for e in events], ["ADDED", "DELETED"])
        self.assertEqual(chunks[-1], b"")

    def test_unset_version_sends_synthetic_added(self):
        self.s.request("POST", self.path(), secret("a"))
        _, _, chunks = self.s.raw_watch(self.path() + "?watch=true&timeoutSeconds=1")
        self.assertEqual([e["type"] for e in watch_events(chunks)], ["ADDED"])

    def test_bookmarks_carry_only_resource_version(self):
        self.s.control("settings", {"bookmark_interval": 0.2})
        rv = self.list_rv()
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&allowWatchBookmarks=true&timeoutSeconds=1")
        bookmarks = [e for e in watch_events(chunks) if e["type"] == "BOOKMARK"]
        self.assertGreaterEqual(len(bookmarks), 2)
        self.assertEqual(set(bookmarks[0]["object"]["metadata"]), {"resourceVersion"})

    def test_no_bookmarks_unless_allowed(self):
        self.s.control("settings", {"bookmark_interval": 0.2})
        rv = self.list_rv()
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=1")
        self.assertEqual(watch_events(chunks), [])

    def test_split_chunks(self):
        rv = self.list_rv()
        self.s.request("POST", self.path(), secret("a", {"k": "x" * 300}))
        self.s.control("faults", {"match": {"watch": True}, "action": {"chunk_size": 7}})
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=1")
        self.assertTrue(all(len(c) <= 7 for c in chunks))
        self.assertGreater(len(chunks), 50)
        self.assertEqual(watch_events(chunks)[0]["object"]["metadata"]["name"], "a")

    def test_endless_event_never_ends(self):
        rv = self.list_rv()
        self.s.control("faults", {"match": {"watch": True, "path_contains": self.ns},
                                  "times": 1, "action": {"endless_event": True}})
        conn = self.s.connect()
        conn.request("GET", self.path() + f"?watch=true&resourceVersion={rv}",
                     headers={"Authorization": "Bearer " + self.s.token})
        resp = conn.getresponse()
        data = resp.read(3 << 20)
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(data), 3 << 20)
        self.assertTrue(data.startswith(b'{"type":"ADDED"'))
        self.assertNotIn(b"\n", data)

    def test_close_after_events(self):
        rv = self.list_rv()
        for name in ("a", "b", "c"):
            self.s.request("POST", self.path(), secret(name))
        self.s.control("faults", {"match": {"watch": True}, "action": {"close_after_events": 2}})
        start = time.time()
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=30")
        self.assertEqual(len(watch_events(chunks)), 2)
        self.assertEqual(chunks[-1], b"")
        self.assertLess(time.time() - start, 5)

    def test_cut_event_at_close(self):
        rv = self.list_rv()
        for name in ("a", "b"):
            self.s.request("POST", self.path(), secret(name))
        self.s.control("faults", {"match": {"watch": True}, "action": {"cut_after_events": 1}})
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=30")
        data = b"".join(chunks)
        lines = data.split(b"\n")
        self.assertEqual(json.loads(lines[0])["object"]["metadata"]["name"], "a")
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1])
        with self.assertRaises(ValueError):
            json.loads(lines[1])

    def test_error_event_after_events(self):
        rv = self.list_rv()
        self.s.request("POST", self.path(), secret("a"))
        self.s.control("faults", {"match": {"watch": True}, "action": {"error_410_after": 1}})
        _, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}"
                                        "&timeoutSeconds=30")
        events = watch_events(chunks)
        self.assertEqual([e["type"] for e in events], ["ADDED", "ERROR"])
        self.assertEqual(events[1]["object"]["code"], 410)
        self.assertEqual(events[1]["object"]["reason"], "Expired")

    def test_compacted_version_is_error_event(self):
        rv = self.list_rv()
        self.s.request("POST", self.path(), secret("a"))
        self.s.control("compact")
        status, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}")
        events = watch_events(chunks)
        self.assertIn("200", status)
        self.assertEqual(events[0]["type"], "ERROR")
        self.assertEqual(events[0]["object"]["code"], 410)

    def test_compacted_version_http_410(self):
        rv = self.list_rv()
        self.s.request("POST", self.path(), secret("a"))
        self.s.control("compact")
        self.s.control("faults", {"match": {"watch": True}, "action": {"http_410": True}})
        status, _, chunks = self.s.raw_watch(self.path() + f"?watch=true&resourceVersion={rv}")
        self.assertIn("410", status)
        self.assertEqual(json.loads(chunks[0])["reason"], "Expired")


class Faults(Base):
    def test_429_with_retry_after(self):
        self.s.control("faults", {"match": {"path_contains": self.ns},
                                  "action": {"status": 429, "retry_after": 2}})
        status, headers, body = self.s.request("GET", self.path())
        again, _, _ = self.s.request("GET", self.path())
        self.assertEqual(status, 429)
        self.assertEqual(headers["retry-after"], "2")
        self.assertEqual(body["reason"], "TooManyRequests")
        self.assertEqual(again, 200)

    def test_5xx_repeats_times(self):
        self.s.control("faults", {"match": {"path_contains": self.ns}, "times": 2,
                                  "action": {"status": 503}})
        codes = [self.s.request("GET", self.path())[0] for _ in range(3)]
        self.assertEqual(codes, [503, 503, 200])

    def test_request_log_records_requests(self):
        self.s.request("POST", self.path(), secret("a"), headers={"User-Agent": "probe/1"})
        entry = [e for e in self.s.log() if e["user_agent"] == "probe/1"][-1]
        self.assertEqual(entry["method"], "POST")
        self.assertEqual(entry["status"], 201)
        self.assertEqual(entry["user"], "admin")
        self.assertEqual(entry["body"]["metadata"]["name"], "a")


class Validation(Base):
    def event(self, **overrides):
        obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
               "metadata": {"name": "e.1"}, "eventTime": microtime(),
               "reportingController": "example.com/guard", "reportingInstance": "pod-1",
               "action": "Sync", "reason": "Created", "note": "ok", "type": "Normal",
               "regarding": {"kind": "Secret", "name": "a", "namespace": self.ns}}
        obj.update(overrides)
        return obj

    def post_event(self, obj):
        return self.s.request("POST", f"/apis/events.k8s.io/v1/namespaces/{self.ns}/events", obj)

    def cause_fields(self, err):
        return [c["field"] for c in err["details"]["causes"]]

    def test_valid_event_created(self):
        status, _, _ = self.post_event(self.event())
        self.assertEqual(status, 201)

    def test_event_requires_event_time(self):
        status, _, err = self.post_event(self.event(eventTime=None))
        self.assertEqual(status, 422)
        self.assertEqual(self.cause_fields(err), ["eventTime"])

    def test_event_limits(self):
        status, _, err = self.post_event(self.event(reason="r" * 129, note="n" * 1025,
                                                    type="Info"))
        self.assertEqual(status, 422)
        self.assertEqual(sorted(self.cause_fields(err)), ["note", "reason", "type"])

    def test_event_deprecated_fields_must_be_unset(self):
        status, _, err = self.post_event(self.event(deprecatedCount=3))
        self.assertEqual(status, 422)
        self.assertIn("needs to be unset", err["details"]["causes"][0]["message"])

    def test_event_controller_must_be_qualified(self):
        status, _, err = self.post_event(self.event(reportingController="bad name!"))
        self.assertEqual(status, 422)
        self.assertEqual(self.cause_fields(err), ["reportingController"])

    def test_event_only_series_changes(self):
        _, _, created = self.post_event(self.event())
        path = f"/apis/events.k8s.io/v1/namespaces/{self.ns}/events/e.1"
        ok, _, _ = self.s.request("PATCH", path, {"series": {"count": 2,
                                                             "lastObservedTime": microtime()}},
                                  content_type="application/merge-patch+json")
        bad, _, err = self.s.request("PATCH", path, {"note": "changed"},
                                     content_type="application/merge-patch+json")
        self.assertEqual(ok, 200)
        self.assertEqual(bad, 422)
        self.assertEqual(self.cause_fields(err), ["note"])
        del created

    def test_lease_needs_six_fraction_digits(self):
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.ns}/leases"
        lease = {"metadata": {"name": "l"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                          "renewTime": "2026-01-02T03:04:05.123Z"}}
        bad, _, err = self.s.request("POST", path, lease)
        lease["spec"]["renewTime"] = "2026-01-02T03:04:05.123456Z"
        good, _, _ = self.s.request("POST", path, lease)
        self.assertEqual(bad, 400)
        self.assertEqual(err["reason"], "BadRequest")
        self.assertEqual(good, 201)


def main():
    global SERVER
    SERVER = StandIn()
    try:
        return run_suite([Auth, Discovery, Writes, Lists, Watches, Faults, Validation])
    finally:
        SERVER.stop()


if __name__ == "__main__":
    sys.exit(main())
