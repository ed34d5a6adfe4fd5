#!/usr/bin/env python3
"""Check the rendered deployment manifests field by field.

    python3 tests/deploy/check_manifests.py BASE.yaml CERT_MANAGER.yaml DEV.yaml CA.crt SERVE_HELP.txt MUTATING.yaml

BASE.yaml is `kubectl kustomize deploy`, CERT_MANAGER.yaml the cert-manager
overlay, MUTATING.yaml the overlay that adds the optional mutating webhook, DEV.yaml the output of deploy/render-dev.sh for the CA in CA.crt, and
SERVE_HELP.txt the output of `immutable-guard serve --help`. Prints one line
per check and a closing "N passed, N failed" line; exits 1 on any failure.
"""
import base64
import sys

import yaml

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    status = "PASS" if condition else "FAIL"
    print(f"{status} {name}" + (f": {detail}" if detail and not condition else ""))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def find(docs, kind, name=None):
    for doc in docs:
        if doc.get("kind") == kind and (name is None or doc["metadata"]["name"] == name):
            return doc
    return None


def check_webhook(docs, kind, path, label):
    config = find(docs, kind, "immutable-guard")
    check(f"{label}: {kind} exists", config is not None)
    if config is None:
        return None
    hooks = config.get("webhooks", [])
    check(f"{label}: {kind} has one webhook", len(hooks) == 1, str(len(hooks)))
    hook = hooks[0]

    service = hook["clientConfig"]["service"]
    check(f"{label}: {kind} path is {path}", service.get("path") == path, service.get("path"))
    check(f"{label}: {kind} service", (service.get("name"), service.get("namespace"), service.get("port"))
          == ("immutable-guard", "immutable-guard", 443), str(service))

    rules = hook.get("rules", [])
    check(f"{label}: {kind} has one rule", len(rules) == 1)
    rule = rules[0]
    check(f"{label}: {kind} rule group", rule.get("apiGroups") == ["external-secrets.io"])
    check(f"{label}: {kind} rule versions", sorted(rule.get("apiVersions", [])) == ["v1", "v1beta1"])
    check(f"{label}: {kind} rule resources",
          sorted(rule.get("resources", [])) == ["clusterexternalsecrets", "externalsecrets"])
    check(f"{label}: {kind} rule operations", sorted(rule.get("operations", [])) == ["CREATE", "UPDATE"])

    check(f"{label}: {kind} sideEffects None", hook.get("sideEffects") == "None")
    check(f"{label}: {kind} review versions", hook.get("admissionReviewVersions") == ["v1", "v1beta1"])
    check(f"{label}: {kind} timeoutSeconds 5", hook.get("timeoutSeconds") == 5)
    check(f"{label}: {kind} failurePolicy Fail", hook.get("failurePolicy") == "Fail")

    expressions = hook.get("namespaceSelector", {}).get("matchExpressions", [])
    exempt = [e for e in expressions if e.get("key") == "kubernetes.io/metadata.name"
              and e.get("operator") == "NotIn"]
    check(f"{label}: {kind} exempts its namespace and kube-system",
          len(exempt) == 1 and sorted(exempt[0].get("values", [])) == ["immutable-guard", "kube-system"],
          str(expressions))
    return config


def check_base(docs, serve_help):
    label = "base"
    for kind in ["Namespace", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget"]:
        check(f"{label}: {kind} exists", find(docs, kind) is not None)

    deployment = find(docs, "Deployment", "immutable-guard")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    check(f"{label}: 2 replicas", spec.get("replicas") == 2)
    check(f"{label}: runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot") is True)
    security = container.get("securityContext", {})
    check(f"{label}: readOnlyRootFilesystem", security.get("readOnlyRootFilesystem") is True)
    check(f"{label}: no privilege escalation", security.get("allowPrivilegeEscalation") is False)
    requests = container.get("resources", {}).get("requests", {})
    check(f"{label}: cpu and memory requests", "cpu" in requests and "memory" in requests, str(requests))
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    check(f"{label}: container ports", ports == {"https": 8443, "probes": 8081}, str(ports))
    readiness = container.get("readinessProbe", {}).get("httpGet", {})
    liveness = container.get("livenessProbe", {}).get("httpGet", {})
    check(f"{label}: readiness probe", (readiness.get("path"), readiness.get("port")) == ("/readyz", "probes"))
    check(f"{label}: liveness probe", (liveness.get("path"), liveness.get("port")) == ("/healthz", "probes"))
    check(f"{label}: service account", pod.get("serviceAccountName") == "immutable-guard")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    tls_volume = volumes.get("tls", {}).get("secret", {})
    check(f"{label}: TLS Secret volume", tls_volume.get("secretName") == "immutable-guard-tls")
    mount = mounts.get("tls", {})
    check(f"{label}: TLS Secret mounted read-only", mount.get("readOnly") is True)
    args = container.get("args", [])
    check(f"{label}: runs serve", args[:1] == ["serve"], str(args))
    mount_path = mount.get("mountPath", "")
    check(f"{label}: --tls-cert inside the mount", f"--tls-cert={mount_path}/tls.crt" in args)
    check(f"{label}: --tls-key inside the mount", f"--tls-key={mount_path}/tls.key" in args)
    for arg in args[1:]:
        flag = arg.split("=", 1)[0]
        check(f"{label}: serve knows {flag}", f"  {flag}=" in serve_help or f"  {flag}[" in serve_help)

    labels = spec["selector"]["matchLabels"]
    service = find(docs, "Service", "immutable-guard")
    check(f"{label}: Service selects the pods", service["spec"]["selector"] == labels)
    https = [p for p in service["spec"]["ports"] if p["port"] == 443]
    check(f"{label}: Service 443 to https", len(https) == 1 and https[0].get("targetPort") == "https")
    budget = find(docs, "PodDisruptionBudget", "immutable-guard")
    check(f"{label}: PodDisruptionBudget selects the pods", budget["spec"]["selector"]["matchLabels"] == labels)
    check(f"{label}: PodDisruptionBudget keeps one", budget["spec"].get("minAvailable") == 1)

    config = check_webhook(docs, "ValidatingWebhookConfiguration", "/validate", label)
    if config:
        check(f"{label}: ValidatingWebhookConfiguration has no caBundle",
              "caBundle" not in config["webhooks"][0]["clientConfig"])
    check(f"{label}: no MutatingWebhookConfiguration (it is optional)",
          find(docs, "MutatingWebhookConfiguration") is None)

    for kind in ["RoleBinding", "ClusterRoleBinding"]:
        bindings = [doc for doc in docs if doc.get("kind") == kind]
        check(f"{label}: a {kind} exists", len(bindings) > 0)
        for binding in bindings:
            subjects = binding.get("subjects", [])
            check(f"{label}: {kind} {binding['metadata']['name']} binds the ServiceAccount",
                  {"kind": "ServiceAccount", "name": "immutable-guard", "namespace": "immutable-guard"}
                  in subjects, str(subjects))
            role = binding["roleRef"]
            check(f"{label}: {kind} {binding['metadata']['name']} refers to an existing role",
                  find(docs, role["kind"], role["name"]) is not None, str(role))


def check_mutating(docs):
    label = "mutating"
    for kind, path in [("ValidatingWebhookConfiguration", "/validate"),
                       ("MutatingWebhookConfiguration", "/mutate")]:
        check_webhook(docs, kind, path, label)
    check(f"{label}: Deployment still present", find(docs, "Deployment", "immutable-guard") is not None)


def check_cert_manager(docs):
    label = "cert-manager"
    for kind, path in [("ValidatingWebhookConfiguration", "/validate")]:
        config = check_webhook(docs, kind, path, label)
        if config:
            annotation = config["metadata"].get("annotations", {}).get("cert-manager.io/inject-ca-from")
            check(f"{label}: {kind} inject-ca-from", annotation == "immutable-guard/immutable-guard-serving",
                  str(annotation))
    serving = find(docs, "Certificate", "immutable-guard-serving")
    check(f"{label}: serving Certificate exists", serving is not None)
    if serving:
        check(f"{label}: serving Certificate fills the mounted Secret",
              serving["spec"].get("secretName") == "immutable-guard-tls")
        check(f"{label}: serving Certificate DNS names",
              sorted(serving["spec"].get("dnsNames", [])) == ["immutable-guard.immutable-guard.svc",
                                                              "immutable-guard.immutable-guard.svc.cluster.local"])
        check(f"{label}: serving key is ECDSA P-256",
              serving["spec"].get("privateKey", {}).get("algorithm") == "ECDSA"
              and serving["spec"]["privateKey"].get("size") == 256)
        issuer = serving["spec"].get("issuerRef", {}).get("name")
        check(f"{label}: serving issuer exists", find(docs, "Issuer", issuer) is not None, str(issuer))
    check(f"{label}: Deployment still present", find(docs, "Deployment", "immutable-guard") is not None)


def check_dev(docs, ca_path):
    label = "dev"
    with open(ca_path, "rb") as handle:
        ca_bundle = base64.b64encode(handle.read()).decode()
    for kind, path in [("ValidatingWebhookConfiguration", "/validate")]:
        config = check_webhook(docs, kind, path, label)
        if config:
            check(f"{label}: {kind} caBundle is the dev CA",
                  config["webhooks"][0]["clientConfig"].get("caBundle") == ca_bundle)
    secret = find(docs, "Secret", "immutable-guard-tls")
    check(f"{label}: TLS Secret exists", secret is not None)
    if secret:
        check(f"{label}: TLS Secret type", secret.get("type") == "kubernetes.io/tls")
        check(f"{label}: TLS Secret namespace", secret["metadata"].get("namespace") == "immutable-guard")
        check(f"{label}: TLS Secret has a pair", sorted(secret.get("data", {})) == ["tls.crt", "tls.key"])


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    base, cert_manager, dev, ca_path, help_path, mutating = sys.argv[1:]
    with open(help_path, encoding="utf-8") as handle:
        serve_help = handle.read()
    check_base(load(base), serve_help)
    check_cert_manager(load(cert_manager))
    check_dev(load(dev), ca_path)
    check_mutating(load(mutating))
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
