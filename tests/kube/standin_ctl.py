"""Start the stand-in API server and talk to it from Python tests."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


class StandIn:
    """A running stand-in with its own certificates and admin token."""

    def __init__(self, workdir=None, verbose=False):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="standin-")
        self.certs = os.path.join(self.dir, "certs")
        if not os.path.exists(os.path.join(self.certs, "server.crt")):
            subprocess.run(["sh", os.path.join(HERE, "gen-certs.sh"), self.certs], check=True)
        self.token = "admin-" + os.urandom(8).hex()
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.remove(ready)
        cmd = [sys.executable, os.path.join(HERE, "standin.py"),
               "--cert", os.path.join(self.certs, "server.crt"),
               "--key", os.path.join(self.certs, "server.key"),
               "--client-ca", os.path.join(self.certs, "ca.crt"),
               "--token", self.token, "--ready-file", ready]
        if verbose:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd)
        deadline = time.time() + 10
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("stand-in API server did not start")
            time.sleep(0.02)
        with open(ready, encoding="utf-8") as f:
            self.port = json.load(f)["port"]
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = os.path.join(self.certs, "ca.crt")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def ssl_context(self, client_cert=False):
        context = ssl.create_default_context(cafile=self.ca)
        if client_cert:
            context.load_cert_chain(os.path.join(self.certs, "client.crt"),
                                    os.path.join(self.certs, "client.key"))
        return context

    def connect(self, client_cert=False, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.ssl_context(client_cert))

    def request(self, method, path, body=None, token=None, content_type="application/json",
                headers=None, client_cert=False):
        """Send one request; return (status, headers dict, decoded JSON or raw bytes)."""
        conn = self.connect(client_cert)
        all_headers = dict(headers or {})
        if token is None:
            token = self.token
        if token:
            all_headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=all_headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, decoded

    def control(self, path, body=None):
        status, _, data = self.request("POST", "/_standin/" + path, body or {})
        if status != 200:
            raise RuntimeError(f"control {path} failed: {status} {data}")
        return data

    def log(self, path_contains=None, since=0):
        """Logged requests, optionally only those after seq `since` or whose
        path contains `path_contains`."""
        query = f"?since={since}"
        if path_contains:
            query += "&path_contains=" + urllib.parse.quote(path_contains)
        status, _, data = self.request("GET", "/_standin/log" + query)
        assert status == 200
        return data["items"]

    def raw_watch(self, path, token=None, read_timeout=5.0):
        """Open a watch on a plain TLS socket; return (status line, list of chunk payloads).

        Reads until the server ends the chunked body or read_timeout passes."""
        context = self.ssl_context()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout)
        tls = context.wrap_socket(sock, server_hostname="127.0.0.1")
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {token or self.token}\r\n\r\n").encode()
        tls.sendall(request)
        reader = tls.makefile("rb")
        status_line = reader.readline().decode().strip()
        headers = {}
        while True:
            line = reader.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        chunks = []
        if headers.get("transfer-encoding") == "chunked":
            try:
                while True:
                    size_line = reader.readline()
                    if not size_line:
                        break
                    size = int(size_line.strip(), 16)
                    if size == 0:
                        chunks.append(b"")
                        break
                    chunks.append(reader.read(size))
                    reader.readline()
            except (socket.timeout, TimeoutError):
                pass
        else:
            length = int(headers.get("content-length", "0"))
            chunks.append(reader.read(length))
        tls.close()
        return status_line, headers, chunks


def watch_events(chunks):
    """Join chunk payloads and split them into decoded watch events."""
    data = b"".join(chunks)
    return [json.loads(line) for line in data.split(b"\n") if line.strip()]


def run_suite(test_case_classes):
    """Run the given TestCase classes and print a closing 'N passed, N failed' line."""
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for cls in test_case_classes:
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
