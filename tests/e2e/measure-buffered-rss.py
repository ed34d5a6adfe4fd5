#!/usr/bin/env python3
"""Measure the peak RSS of `immutable-guard serve` while many TLS clients
each declare a large body and send all of it but the last 64 KiB.

    python3 tests/e2e/measure-buffered-rss.py SERVER [--clients N]
        [--body-bytes N] [SERVER_OPTION...]

Makes a throwaway certificate set and starts SERVER on 127.0.0.1 with free
ports. While the clients send, it samples the server's VmRSS every 10 ms
from /proc. It prints one line with the idle and peak RSS and the status
codes the clients read, then stops the server by its PID. Extra arguments
go to `serve` unchanged.
"""

import argparse
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HELD_BACK = 64 * 1024


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_listening(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def slow_client(port, context, body_bytes, statuses, index):
    """Send the headers and all but HELD_BACK bytes of the body, then read
    a reply if one comes within 2 s."""
    head = (
        "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {body_bytes}\r\n\r\n"
    ).encode()
    chunk = b" " * (256 * 1024)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock = context.wrap_socket(raw, server_hostname="localhost")
        sock.sendall(head)
        left = body_bytes - HELD_BACK
        while left > 0:
            part = chunk[: min(left, len(chunk))]
            sock.sendall(part)
            left -= len(part)
        sock.settimeout(2)
        try:
            reply = sock.recv(256)
            statuses[index] = reply.split(b" ", 2)[1].decode() if reply else "closed"
        except socket.timeout:
            statuses[index] = "waiting"
        return sock
    except OSError as error:
        statuses[index] = f"error:{error.__class__.__name__}"
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--body-bytes", type=int, default=7340032)
    options, serve_args = parser.parse_known_args()

    with tempfile.TemporaryDirectory(prefix="ig-rss.") as work:
        subprocess.run(["sh", os.path.join(ROOT, "certs", "make-dev-certs.sh"), work],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port, probe_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen(
            [options.server, "serve", f"--listen=127.0.0.1:{port}",
             f"--probe-listen=127.0.0.1:{probe_port}",
             f"--tls-cert={work}/tls.crt", f"--tls-key={work}/tls.key", *serve_args],
            stdout=log, stderr=log, env=env)
        try:
            if not wait_listening(port, time.monotonic() + 10):
                sys.exit("the server did not start listening within 10 s")
            context = ssl.create_default_context(cafile=f"{work}/ca.crt")
            idle = rss_kib(server.pid)
            peak = idle
            statuses = [None] * options.clients
            threads = [threading.Thread(target=slow_client,
                                        args=(port, context, options.body_bytes, statuses, i))
                       for i in range(options.clients)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads) and server.poll() is None:
                peak = max(peak, rss_kib(server.pid))
                time.sleep(0.01)
            elapsed = time.monotonic() - started
            if server.poll() is not None:
                print(f"the server exited with status {server.returncode}")
            counts = {}
            for status in statuses:
                counts[status] = counts.get(status, 0) + 1
            print(f"clients={options.clients} body_bytes={options.body_bytes} "
                  f"idle_rss_mib={idle / 1024:.1f} peak_rss_mib={peak / 1024:.1f} "
                  f"seconds={elapsed:.2f} replies={counts}")
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGKILL)
            server.wait()
            log.close()


if __name__ == "__main__":
    main()
