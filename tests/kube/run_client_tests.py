#!/usr/bin/env python3
"""Start the stand-in API server, run a Criterion client test binary against it
(one test at a time, because some tests change server-wide settings), stop it."""

import os
import subprocess
import sys

from standin_ctl import StandIn


def main():
    binary = sys.argv[1]
    extra = sys.argv[2:]
    server = StandIn()
    try:
        env = dict(os.environ, STANDIN_URL=server.url, STANDIN_TOKEN=server.token,
                   STANDIN_CA=server.ca, STANDIN_CERTS=server.certs)
        for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            env.pop(name, None)
        return subprocess.run([binary, "--jobs", "1", *extra], env=env, check=False).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
