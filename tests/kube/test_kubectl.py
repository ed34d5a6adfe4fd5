#!/usr/bin/env python3
"""The installed kubectl against the stand-in API server, through a generated
kubeconfig: discovery, get, apply, annotate and delete, and the way kubectl
prints the stand-in's Status errors."""

import json
import os
import shutil
import subprocess
import sys
import unittest

from standin_ctl import StandIn, run_suite

SERVER = None
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

MANIFESTS = """apiVersion: v1
kind: Secret
metadata:
  name: db-creds
type: Opaque
stringData:
  password: first
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: ssm
spec:
  provider:
    aws: {service: ParameterStore, region: eu-west-1}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
spec:
  refreshInterval: 1h
  secretStoreRef: {name: ssm, kind: SecretStore}
  target: {name: db-creds, immutable: true}
  data:
  - secretKey: password
    remoteRef: {key: /db/password}
"""


def kubectl(*args, stdin=None):
    env = dict(os.environ, KUBECONFIG=SERVER.kubeconfig, HOME=SERVER.dir)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = subprocess.run([KUBECTL, *args], input=stdin, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    return result.returncode, result.stdout, result.stderr


class Kubectl(unittest.TestCase):
    counter = 0

    def setUp(self):
        Kubectl.counter += 1
        self.ns = f"kubectl-{Kubectl.counter}"
        # kubectl create namespace sends protobuf, which the stand-in does not
        # decode; create the namespace directly.
        status, _, _ = SERVER.request("POST", "/api/v1/namespaces", {"metadata": {"name": self.ns}})
        self.assertEqual(status, 201)

    def test_get_empty_namespace(self):
        code, out, err = kubectl("get", "secrets", "-n", self.ns)
        self.assertEqual(code, 0, err)
        self.assertIn("No resources found", out + err)

    def test_apply_get_annotate_delete(self):
        code, out, err = kubectl("apply", "-n", self.ns, "-f", "-", stdin=MANIFESTS)
        self.assertEqual(code, 0, err)
        self.assertIn("secret/db-creds created", out)
        self.assertIn("externalsecret.external-secrets.io/db created", out)

        code, out, err = kubectl("get", "externalsecret", "db", "-n", self.ns, "-o", "json")
        self.assertEqual(code, 0, err)
        es = json.loads(out)
        self.assertEqual(es["apiVersion"], "external-secrets.io/v1")
        self.assertTrue(es["spec"]["target"]["immutable"])

        code, out, err = kubectl("apply", "-n", self.ns, "-f", "-",
                                 stdin=MANIFESTS.replace("1h", "2h"))
        self.assertEqual(code, 0, err)
        self.assertIn("externalsecret.external-secrets.io/db configured", out)
        code, out, err = kubectl("get", "secret", "db-creds", "-n", self.ns, "-o",
                                 "jsonpath={.data.password}")
        self.assertEqual(out, "Zmlyc3Q=")  # "first", from stringData

        code, _, err = kubectl("annotate", "es", "db", "-n", self.ns,
                               "external-secrets.io/force-sync=now")
        self.assertEqual(code, 0, err)
        code, out, err = kubectl("get", "es", "db", "-n", self.ns, "-o",
                                 "jsonpath={.spec.refreshInterval} "
                                 "{.metadata.annotations.external-secrets\\.io/force-sync}")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "2h now")

        code, out, err = kubectl("delete", "-n", self.ns, "-f", "-", stdin=MANIFESTS)
        self.assertEqual(code, 0, err)
        self.assertIn('externalsecret.external-secrets.io "db" deleted', out)
        code, _, err = kubectl("get", "es", "db", "-n", self.ns)
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)

    def test_all_namespaces_and_short_names(self):
        code, _, err = kubectl("apply", "-n", self.ns, "-f", "-", stdin=MANIFESTS)
        self.assertEqual(code, 0, err)
        code, out, err = kubectl("get", "es", "-A", "-o", "name")
        self.assertEqual(code, 0, err)
        self.assertIn("externalsecret.external-secrets.io/db", out)
        code, out, err = kubectl("get", "ss", "-n", self.ns, "-o", "name")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip(), "secretstore.external-secrets.io/ssm")

    def test_immutable_secret_error_shown(self):
        secret = ("apiVersion: v1\nkind: Secret\nmetadata: {name: locked}\nimmutable: true\n"
                  "stringData: {k: one}\n")
        code, _, err = kubectl("apply", "-n", self.ns, "-f", "-", stdin=secret)
        self.assertEqual(code, 0, err)
        code, _, err = kubectl("apply", "-n", self.ns, "-f", "-",
                               stdin=secret.replace("one", "two"))
        self.assertNotEqual(code, 0)
        self.assertIn('Secret "locked" is invalid', err)
        self.assertIn("field is immutable when `immutable` is set", err)

    def test_create_existing_is_already_exists(self):
        secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: dup}\nstringData: {k: v}\n"
        code, _, err = kubectl("create", "-n", self.ns, "-f", "-", stdin=secret)
        self.assertEqual(code, 0, err)
        code, _, err = kubectl("create", "-n", self.ns, "-f", "-", stdin=secret)
        self.assertNotEqual(code, 0)
        self.assertIn("AlreadyExists", err)


def main():
    global SERVER
    SERVER = StandIn()
    SERVER.kubeconfig = os.path.join(SERVER.dir, "kubeconfig")
    with open(SERVER.kubeconfig, "w", encoding="utf-8") as f:
        f.write(f"apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
                f"clusters:\n- name: standin\n  cluster:\n    server: {SERVER.url}\n"
                f"    certificate-authority: {SERVER.ca}\n"
                f"users:\n- name: admin\n  user:\n    token: {SERVER.token}\n"
                f"contexts:\n- name: standin\n  context: {{cluster: standin, user: admin}}\n")
    try:
        return run_suite([Kubectl])
    finally:
        SERVER.stop()


if __name__ == "__main__":
    sys.exit(main())
