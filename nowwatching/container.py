"""How the container starts (the Dockerfile's ENTRYPOINT): standard library only.

    python nowwatching/container.py gunicorn --config nowwatching/gunicorn.conf.py --bind ...
    python nowwatching/container.py python manage.py backup /data/backups

- The database is the SQLite file in the /data volume unless DATABASE_URL names another.
- Before the server: the migrations (`manage.py migrate`, one container at a time: it waits
  for another that is migrating).
- The server shares its port with the other containers of a `--scale web=3`: each TCP
  address gunicorn is told to bind is bound here first with SO_REUSEPORT (the kernel then
  spreads the connections among the containers) and handed over as `fd://N`. gunicorn's
  own --reuse-port would do that but also tries it on a unix socket, which fails.
- gunicorn also listens on a unix socket of this container's own, for the health check
  (nowwatching/healthcheck.py): through the shared port another container could answer.
  It is handed over as `fd://N` too (gunicorn binds nothing itself once it is given one).
- Then the command replaces this process, so `docker stop`'s SIGTERM reaches gunicorn
  itself: it stops accepting, finishes what is under way and stops the history job.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

DEFAULT_DATABASE = "sqlite:////data/db.sqlite3"
HEALTH_SOCKET = "/tmp/nowwatching.sock"
BACKLOG = 2048  # gunicorn's default


def shared_listener(address: str) -> int:
    """A listening socket on HOST:PORT that other processes (containers) may share."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, int(port)))
    listener.listen(BACKLOG)
    descriptor = listener.detach()
    os.set_inheritable(descriptor, True)
    return descriptor


def unix_listener(path: str) -> int:
    """A listening unix socket at `path` (a stale one from the last run replaced)."""
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(BACKLOG)
    descriptor = listener.detach()
    os.set_inheritable(descriptor, True)
    return descriptor


def gunicorn_arguments(arguments: list[str]) -> list[str]:
    """gunicorn's command line with each TCP --bind pre-bound and shared (`fd://N`), and the
    health check's unix socket added."""
    result, pending = [], iter(arguments)
    for argument in pending:
        if argument in ("--bind", "-b"):
            address = next(pending)
        elif argument.startswith("--bind="):
            address = argument.removeprefix("--bind=")
        else:
            result.append(argument)
            continue
        if address.startswith("unix:"):
            address = f"fd://{unix_listener(address.removeprefix('unix:'))}"
        elif not address.startswith("fd://"):
            address = f"fd://{shared_listener(address)}"
        result += ["--bind", address]
    return result + ["--bind", f"fd://{unix_listener(HEALTH_SOCKET)}"]


def main(command: list[str]) -> None:
    if not os.environ.get("DATABASE_URL", "").strip():
        os.environ["DATABASE_URL"] = DEFAULT_DATABASE
    if command[:1] == ["gunicorn"]:
        migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"])
        if migrated.returncode:
            sys.exit(migrated.returncode)
        command = ["gunicorn", *gunicorn_arguments(command[1:])]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:] or ["gunicorn"])
