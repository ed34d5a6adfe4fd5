#!/usr/bin/env python3
"""Leader election with two daemons against one stand-in API server.

Election runs tests/kube/leader_driver.c processes with short leases. Each
writes a probe ConfigMap while it leads, so the stand-in's request log shows
who wrote when. ServeBinary runs two `immutable-guard serve` processes with
the default 15 s lease, which the serve command does not let tests change.

  test_leader.py DRIVER_BINARY IMMUTABLE_GUARD_BINARY
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

from standin_ctl import StandIn, run_suite

SERVER = None
DRIVER = None
SERVE = None
MICROTIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def identity_of(entry):
    match = re.search(r"\(([^)]+)\)$", entry.get("user_agent", ""))
    return match.group(1) if match else None


def lease_writes(log, lease):
    out = []
    for e in log:
        if e["method"] in ("PUT", "POST") and f"/leases" in e["path"] and \
                (e["method"] == "POST" or e["path"].endswith("/" + lease)) and \
                e.get("status") in (200, 201) and e["body"] and \
                e["body"]["metadata"]["name"] == lease:
            out.append(e)
    return out


def probe_writes(log, ns):
    return [e for e in log if e["method"] == "PATCH" and e.get("status") == 200 and
            e["path"] == f"/api/v1/namespaces/{ns}/configmaps/probe"]


def holder(entry):
    return entry["body"]["spec"].get("holderIdentity", "")


def wait_until(predicate, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    return None


class Election(unittest.TestCase):
    counter = 0

    def setUp(self):
        Election.counter += 1
        self.ns = f"leader-{Election.counter}"
        self.lease = f"lease-{Election.counter}"
        SERVER.request("POST", "/api/v1/namespaces", {"metadata": {"name": self.ns}})
        status, _, _ = SERVER.request("POST", f"/api/v1/namespaces/{self.ns}/configmaps",
                                      {"metadata": {"name": "probe"}})
        self.assertEqual(status, 201)
        self.procs = {}

    def tearDown(self):
        codes = {}
        for identity, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.log.close()
            codes[identity] = proc.returncode
            if proc.returncode != 0:
                with open(proc.log.name, encoding="utf-8", errors="replace") as f:
                    lines = [line for line in f if '"level":"info"' not in line]
                print(f"--- {identity} exited with {proc.returncode}; its last output:")
                print("".join(lines[-120:]))
        # A sanitizer report or a crash shows up as a non-zero exit status.
        self.assertEqual(codes, {identity: 0 for identity in codes})

    def start(self, identity, timing):
        args = [DRIVER, "--kubeconfig", SERVER.kubeconfig, "--identity", identity,
                "--lease-name", self.lease, "--lease-namespace", self.ns,
                "--probe-namespace", self.ns]
        for flag, value in timing.items():
            args += [f"--{flag}", str(value)]
        log = open(os.path.join(SERVER.dir, f"{self.ns}-{identity}.log"), "w", encoding="utf-8")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        proc.log = log
        self.procs[identity] = proc
        return proc

    def writes(self):
        return lease_writes(SERVER.log(path_contains="/leases"), self.lease)

    def assert_no_overlap(self, log, lease_duration):
        """Every probe write comes from the holder of the latest lease write
        before it, and within a lease duration of that write."""
        leases = lease_writes(log, self.lease)
        probes = probe_writes(log, self.ns)
        self.assertTrue(probes, "no probe writes at all")
        for probe in probes:
            before = [w for w in leases if w["end"] <= probe["time"]]
            self.assertTrue(before, "probe write before any lease write")
            self.assertEqual(holder(before[-1]), identity_of(probe),
                             f"probe by {identity_of(probe)} while {holder(before[-1])} held "
                             f"the lease")
            self.assertLess(probe["time"] - before[-1]["end"], lease_duration)

    def test_frozen_leader_is_replaced(self):
        timing = {"lease-duration": 2, "renew-deadline": 1.5, "retry-period": 0.3}
        self.start("alpha", timing)
        self.start("beta", timing)
        first = wait_until(lambda: self.writes(), 10)
        self.assertTrue(first, "no lease write within 10 s")
        time.sleep(1.5)
        writes = self.writes()
        leader = holder(writes[0])
        other = "beta" if leader == "alpha" else "alpha"
        self.assertEqual({holder(w) for w in writes}, {leader}, "two leaders at once")
        for w in writes:
            self.assertRegex(w["body"]["spec"]["renewTime"], MICROTIME)

        stopped_at = time.time()
        self.procs[leader].send_signal(signal.SIGSTOP)
        takeover = wait_until(
            lambda: [w for w in self.writes() if holder(w) == other], 10)
        self.assertTrue(takeover, f"{other} did not take over")
        last_by_leader = [w for w in self.writes() if identity_of(w) == leader][-1]
        gap = takeover[0]["time"] - last_by_leader["end"]
        self.assertGreaterEqual(gap, 2.0, "took over before a full lease duration")
        # The upper bound only shows that the takeover happened in time; it is
        # loose because a loaded 2-core machine slows the Python stand-in.
        self.assertLess(gap, 8.0)
        self.assertEqual(takeover[0]["body"]["spec"]["leaseTransitions"],
                         last_by_leader["body"]["spec"]["leaseTransitions"] + 1)

        time.sleep(max(0.0, stopped_at + 4.0 - time.time()))
        resumed_at = time.time()
        self.procs[leader].send_signal(signal.SIGCONT)
        time.sleep(2.0)
        log = SERVER.log()
        late_writes = [e for e in log if identity_of(e) == leader and e["method"] != "GET" and
                       e["time"] >= resumed_at]
        self.assertEqual(late_writes, [], "the resumed replica wrote before re-acquiring")
        late_reads = [e for e in log if identity_of(e) == leader and e["time"] >= resumed_at and
                      "/leases/" in e["path"]]
        self.assertTrue(late_reads, "the resumed replica did not go back to candidate")
        self.assert_no_overlap(log, 2.0)

    def test_release_hands_over_quickly(self):
        # Default timing: 15 s lease, 10 s renew deadline, 2 s retry period.
        first = self.start("gamma", {})
        self.assertTrue(wait_until(lambda: self.writes(), 10), "no lease write within 10 s")
        self.assertEqual(holder(self.writes()[0]), "gamma")
        self.start("delta", {})
        time.sleep(3.0)
        self.assertEqual({holder(w) for w in self.writes()}, {"gamma"})
        self.assertEqual(self.writes()[0]["body"]["spec"]["leaseDurationSeconds"], 15)

        sent = time.time()
        first.send_signal(signal.SIGTERM)
        takeover = wait_until(lambda: [w for w in self.writes() if holder(w) == "delta"], 10)
        self.assertTrue(takeover, "delta did not take over")
        handover = takeover[0]["time"] - sent
        print(f"handover after SIGTERM: {handover:.2f} s")
        self.assertLess(handover, 3.0)
        self.assertEqual(first.wait(timeout=10), 0)
        released = [w for w in self.writes() if identity_of(w) == "gamma" and holder(w) == ""]
        self.assertEqual(len(released), 1)
        self.assertEqual(released[0]["body"]["spec"]["leaseDurationSeconds"], 1)
        self.assert_no_overlap(SERVER.log(), 15.0)


class ServeBinary(Election):
    """The same rules through the real binary, with the default timing."""

    def start_serve(self, identity):
        args = [SERVE, "serve", "--listen", "127.0.0.1:0", "--probe-listen", "127.0.0.1:0",
                "--tls-cert", os.path.join(SERVER.certs, "server.crt"),
                "--tls-key", os.path.join(SERVER.certs, "server.key"),
                "--kubeconfig", SERVER.kubeconfig, "--leader-elect",
                "--lease-name", self.lease, "--lease-namespace", self.ns]
        env = dict(os.environ, POD_NAME=identity)
        env.pop("KUBECONFIG", None)
        log = open(os.path.join(SERVER.dir, f"{self.ns}-{identity}.log"), "w", encoding="utf-8")
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        proc.log = log
        self.procs[identity] = proc
        return proc

    def test_frozen_leader_is_replaced(self):
        self.start_serve("serve-a")
        self.assertTrue(wait_until(lambda: self.writes(), 10), "no lease write within 10 s")
        self.start_serve("serve-b")
        time.sleep(1.0)
        leader = holder(self.writes()[0])
        other = "serve-b" if leader == "serve-a" else "serve-a"
        self.assertEqual(self.writes()[0]["body"]["spec"]["leaseDurationSeconds"], 15)

        stopped_at = time.time()
        self.procs[leader].send_signal(signal.SIGSTOP)
        takeover = wait_until(lambda: [w for w in self.writes() if holder(w) == other], 30)
        self.assertTrue(takeover, f"{other} did not take over within 30 s")
        last_by_leader = [w for w in self.writes() if identity_of(w) == leader][-1]
        gap = takeover[0]["time"] - last_by_leader["end"]
        print(f"takeover {gap:.2f} s after the frozen leader's last renewal")
        self.assertGreaterEqual(gap, 15.0)
        self.assertLess(gap, 24.0)

        resumed_at = time.time()
        self.procs[leader].send_signal(signal.SIGCONT)
        time.sleep(2.5)
        log = SERVER.log()
        late_writes = [e for e in log if identity_of(e) == leader and e["method"] != "GET" and
                       e["time"] >= resumed_at]
        self.assertEqual(late_writes, [], "the resumed replica wrote before re-acquiring")
        holders = [holder(w) for w in lease_writes(log, self.lease) if w["time"] > stopped_at]
        self.assertEqual(set(holders), {other})

    def test_release_hands_over_quickly(self):
        first = self.start_serve("serve-c")
        self.assertTrue(wait_until(lambda: self.writes(), 10), "no lease write within 10 s")
        self.start_serve("serve-d")
        time.sleep(3.0)
        self.assertEqual({holder(w) for w in self.writes()}, {"serve-c"})

        sent = time.time()
        first.send_signal(signal.SIGTERM)
        takeover = wait_until(lambda: [w for w in self.writes() if holder(w) == "serve-d"], 10)
        self.assertTrue(takeover, "serve-d did not take over")
        handover = takeover[0]["time"] - sent
        print(f"serve handover after SIGTERM: {handover:.2f} s")
        self.assertLess(handover, 3.0)
        self.assertEqual(first.wait(timeout=40), 0)
        released = [w for w in self.writes() if identity_of(w) == "serve-c" and holder(w) == ""]
        self.assertEqual(len(released), 1)


def main():
    global SERVER, DRIVER, SERVE
    DRIVER = os.path.abspath(sys.argv[1])
    SERVE = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    if SERVE:
        usage = subprocess.run([SERVE, "serve", "--help"], capture_output=True, text=True,
                               check=False)
        if "--leader-elect" not in usage.stdout + usage.stderr:
            print(f"{SERVE} serve has no --leader-elect: the ServeBinary tests do not run")
            SERVE = None
    SERVER = StandIn()
    SERVER.kubeconfig = os.path.join(SERVER.dir, "kubeconfig")
    with open(SERVER.kubeconfig, "w", encoding="utf-8") as f:
        f.write(f"apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
                f"clusters:\n- name: standin\n  cluster:\n    server: {SERVER.url}\n"
                f"    certificate-authority: {SERVER.ca}\n"
                f"users:\n- name: admin\n  user:\n    token: {SERVER.token}\n"
                f"contexts:\n- name: standin\n  context: {{cluster: standin, user: admin}}\n")
    try:
        return run_suite([Election, ServeBinary] if SERVE else [Election])
    finally:
        SERVER.stop()


if __name__ == "__main__":
    sys.exit(main())
