"""Real servers for tests and the benchmark: the site under gunicorn, Redis and PostgreSQL.

    with redis_server() as cache_url, gunicorn(fake.env() | {"CACHE_URL": cache_url}) as site:
        urllib.request.urlopen(site.url + "/api/watching")

Each picks a free loopback port, waits until it answers, and is stopped (and waited for)
on exit, so no process outlives its test. The site gets a freshly migrated SQLite database of
its own unless `env` names a DATABASE_URL; `manage(env, ...)` runs a management command the
same way.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "nowwatching" / "gunicorn.conf.py"

# Every setting is passed explicitly, so a developer's .env.local cannot leak into a test.
SITE_ENV = {
    "SECRET_KEY": "insecure-key-for-tests-only",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DEMO_MODE": "",  # the default: the demo without a key, else real (fake.env() sets keys)
    "TRAKT_API_KEY": "",
    "TRAKT_USERNAME": "",
    "TRAKT_ACCESS_TOKEN": "",
    "TRAKT_CLIENT_SECRET": "",
    "TMDB_API_KEY": "",
    "TMDB_READ_ACCESS_TOKEN": "",
    "WATCHING_CACHE_SECONDS": "15",
    "CACHE_URL": "locmemcache://nowwatching",
    "TIME_ZONE": "UTC",
    "HTTPS_ONLY": "false",
    "HSTS_PRELOAD": "false",
    # The background history sync would add Trakt calls that tests count; its own tests
    # turn it on.
    "HISTORY_SYNC_MINUTES": "0",
}


# What every gunicorn the tests started logged, for the session's scan for secrets
# (tests/conftest.py).
SITE_LOGS: list[str] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def site_env(env: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "")} | SITE_ENV | env


_collected = False


def collectstatic() -> None:
    """Hashed static files, as in production (gunicorn runs with DEBUG off)."""
    global _collected
    if not _collected:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=site_env({}),
            check=True,
            timeout=120,
        )
        _collected = True


_template_database: Path | None = None


def migrated_sqlite(folder: Path) -> str:
    """A freshly migrated SQLite database in `folder` (a copy of one migrated once per
    session); its DATABASE_URL."""
    global _template_database
    if _template_database is None:
        template_folder = Path(tempfile.mkdtemp(prefix="nowwatching-db-"))
        atexit.register(shutil.rmtree, template_folder, ignore_errors=True)
        template = template_folder / "db.sqlite3"
        migrated = manage({"DATABASE_URL": f"sqlite:///{template}"}, "migrate", "--noinput")
        if migrated.returncode:
            raise RuntimeError(f"migrate failed: {migrated.stdout}{migrated.stderr}")
        _template_database = template
    copy = folder / "db.sqlite3"
    shutil.copyfile(_template_database, copy)
    return f"sqlite:///{copy}"


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`manage.py *args` as a process of its own, with `env` on top of SITE_ENV, no terminal
    and no input; its output captured as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=site_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Site:
    url: str
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 2, args: tuple[str, ...] = ()):
    """The site under gunicorn as `make serve` runs it (nowwatching/gunicorn.conf.py), with
    `env` on top of SITE_ENV; yields a Site. Without a DATABASE_URL in `env` it gets a fresh,
    migrated SQLite database of its own."""
    collectstatic()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if "DATABASE_URL" not in env:
            env = env | {"DATABASE_URL": migrated_sqlite(Path(tmp))}
        log = Path(tmp) / "gunicorn.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--config",
                    str(GUNICORN_CONF),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--graceful-timeout",
                    "3",
                    *args,
                ],
                cwd=ROOT,
                env=site_env(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_port(port, process)
                yield Site(f"http://127.0.0.1:{port}", log, process)
            finally:
                stop(process)
                SITE_LOGS.append(log.read_text(errors="replace"))


@contextlib.contextmanager
def redis_server():
    """A throwaway redis-server on a free loopback port; yields its CACHE_URL."""
    with redis_process() as redis:
        yield redis.url


class RedisProcess:
    """A throwaway redis-server that a test can kill, freeze and bring back (same port)."""

    def __init__(self, directory: str):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.process)

    def kill(self) -> None:
        """SIGKILL: gone at once, its data with it."""
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open (the kernel even accepts new ones), nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            stop(self.process)


@contextlib.contextmanager
def redis_process():
    """A throwaway RedisProcess, started; stopped on exit whatever state it is in."""
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisProcess(tmp)
        redis.start()
        try:
            yield redis
        finally:
            redis.stop()


def _postgres_bin() -> Path:
    """Debian's PostgreSQL programs (`make test` installs the package); the newest version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    return Path(found[-1])


@contextlib.contextmanager
def postgres_server():
    """A throwaway PostgreSQL on a free loopback port (fsync off); yields its DATABASE_URL.

    PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the Debian
    package creates.
    """
    bin_dir = _postgres_bin()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="nowwatching-pg-")
    try:
        if as_postgres:
            shutil.chown(tmp, "postgres")
        data = f"{tmp}/data"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
        subprocess.run(
            [*as_postgres, str(bin_dir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
            check=True,
            timeout=120,
            **quiet,
        )
        options = f"-h 127.0.0.1 -p {port} -k {tmp} -F -c max_connections=200"
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", data, "-o", options,
             "-l", f"{tmp}/log", "-w", "start"],
            check=True,
            timeout=120,
            **quiet,
        )  # fmt: skip
        try:
            yield f"postgres://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*as_postgres, str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                timeout=60,
                **quiet,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def postgres_processes(url: str) -> list[int]:
    """The pids of the PostgreSQL server listening at `url`'s port: its postmaster and every
    process it started (backends, checkpointer, ...), postmaster first."""
    port = str(urlsplit(url).port)
    postmaster = None
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        parents[int(proc.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        if argv[0].endswith(b"/postgres") and b"-p" in argv and port.encode() in argv:
            postmaster = int(proc.name)
    if postmaster is None:
        raise RuntimeError(f"no PostgreSQL listens on port {port}")
    return [postmaster] + [pid for pid, parent in parents.items() if parent == postmaster]


@contextlib.contextmanager
def frozen_postgres(url: str):
    """Every process of the PostgreSQL server at `url` stopped (SIGSTOP): its sockets stay
    open and the kernel still accepts connections, but nothing answers. Thawed on exit."""
    pids = postgres_processes(url)
    for pid in reversed(pids):
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def empty_database(request, folder: Path, prefix: str):
    """A database nobody migrated, for a process of its own: a SQLite file in `folder`, or
    with --postgres a new database on the tests' throwaway PostgreSQL server (dropped on
    exit). Yields its DATABASE_URL."""
    if not request.config.getoption("--postgres"):
        yield f"sqlite:///{folder / f'{prefix}.sqlite3'}"
        return
    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"{prefix}_{os.urandom(5).hex()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
