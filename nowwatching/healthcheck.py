"""The container's health check (the Dockerfile's HEALTHCHECK): GET /healthz from this
container's own gunicorn, over its unix socket. Containers that share one port (`--scale
web=3`) would each reach any of them through it; the socket is this one's alone.

Exit 0 when /healthz answers 200, else 1 with one line saying why. Standard library only:
it runs every few seconds and must start fast.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys

SOCKET = "/tmp/nowwatching.sock"
TIMEOUT = 4.0


class UnixConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(SOCKET)


def host() -> str:
    """A Host the site answers to (ALLOWED_HOSTS), else Django would refuse it with 400."""
    for name in os.environ.get("ALLOWED_HOSTS", "").split(","):
        name = name.strip().lstrip(".")
        if name and "*" not in name:
            return name
    return "localhost"


def main() -> int:
    connection = UnixConnection(host(), timeout=TIMEOUT)
    try:
        connection.request("GET", "/healthz", headers={"Host": host()})
        status = connection.getresponse().status
    except OSError as error:
        print(f"/healthz: {error}")
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"/healthz answered {status}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
