"""The image and the compose file, built and run on this machine (`make image-test`; `make
test` skips these: they need Docker and some minutes).

The image is built on a Debian 12 base made with debootstrap (no registry here), PostgreSQL
and Redis stand in for their official images (from Debian's packages), and everything runs
on the host's network with loopback ports (compose.host.yaml), against the loopback fake
Trakt and TMDB of the test process. What it checks:

- the image: its size (and its venv's), printed and held under 250 MB; no test tool in it;
  not root;
- the image alone: the SQLite database in its volume; `docker stop` in the middle of a
  backfill ends it cleanly (whole pages only, the lease released), the next start continues
  it, a restart keeps the history;
- the compose file: the demo, then the fake's history synced with `sync_trakt`, kept across
  a restart of the site's container, and scaled to 3 behind one port with one sync.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.image import docker
from tests.servers import ROOT, free_port

HERE = Path(__file__).resolve().parent
IMAGE = "nowwatching:image-test"
POSTGRES_IMAGE = "nowwatching-postgres:image-test"
REDIS_IMAGE = "nowwatching-redis:image-test"
PROJECT = "nowwatching-image-test"
MAX_IMAGE_MB = 250
DEV_TOOLS = ("pytest", "playwright", "ruff", "schemathesis", "hypothesis", "responses", "pip")
PAGE = 250  # plays per history page: the sync writes one page per transaction


def say(line: str) -> None:
    print(f"\n[image-test] {line}", flush=True)


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env():
    with docker.daemon() as env:
        yield env


@pytest.fixture(scope="module")
def images(env):
    started = time.monotonic()
    base = docker.base_image(env)
    say(f"base image {base} ready ({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    docker.build(env, IMAGE, ROOT, BASE=base)
    say(f"built {IMAGE} ({time.monotonic() - started:.0f} s)")
    docker.build(env, POSTGRES_IMAGE, HERE, HERE / "postgres.Dockerfile", BASE=base)
    docker.build(env, REDIS_IMAGE, HERE, HERE / "redis.Dockerfile", BASE=base)
    yield
    # The base image stays (debootstrap takes a while); what was built here goes.
    docker.run(env, "image", "rm", "--force", IMAGE, POSTGRES_IMAGE, REDIS_IMAGE, check=False)
    docker.run(env, "builder", "prune", "--force", check=False)


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fetch_json(url: str) -> dict:
    status, body = fetch(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def until(condition, timeout: float, what: str, every: float = 0.5):
    """Waits for `condition()` to be true (returned), up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(every)


def health(env, container: str) -> str:
    state = docker.run(env, "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}",
                       container).stdout.split()  # fmt: skip
    if state[0] != "running":
        logs = docker.run(env, "logs", "--tail", "40", container, check=False)
        raise AssertionError(f"{container} is {state[0]}:\n{logs.stdout}{logs.stderr}")
    return state[1]


def wait_healthy(env, *containers: str, timeout: float = 180) -> None:
    """Docker's HEALTHCHECK (nowwatching/healthcheck.py) says healthy for each."""
    for container in containers:
        until(lambda c=container: health(env, c) == "healthy", timeout, f"{container} healthy")


def logs(env, container: str, since: str | None = None) -> str:
    args = ["logs", *(["--since", since] if since else []), container]
    done = docker.run(env, *args)
    return done.stdout + done.stderr


def total_plays(url: str) -> int:
    return fetch_json(f"{url}/api/history?limit=1")["total"]


def gunicorn(port: int) -> list[str]:
    """The image's command, on a loopback port of the host's network."""
    return ["gunicorn", "--config", "nowwatching/gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20",
            "--access-logfile", "-"]  # fmt: skip


def settings_env(fake, **more: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TIME_ZONE": "UTC",
        **(fake.env() if fake else {}),
        **more,
    }


# --- The image ------------------------------------------------------------------------------


def test_the_image_is_small_holds_no_test_tool_and_runs_as_a_user(env, images):
    megabytes = docker.image_megabytes(env, IMAGE)
    venv = docker.run(env, "run", "--rm", "--network", "host", "--entrypoint", "du", IMAGE,
                      "-sm", "/opt/venv").stdout.split()[0]  # fmt: skip
    say(f"sizes: image {IMAGE} {megabytes:.0f} MB (limit {MAX_IMAGE_MB}); its venv {venv} MB")
    found = docker.run(
        env, "run", "--rm", "--network", "host", "--entrypoint", "python", IMAGE, "-c",
        f"import importlib.util as u; print([m for m in {DEV_TOOLS!r} if u.find_spec(m)])",
    ).stdout.strip()  # fmt: skip
    user = docker.run(env, "run", "--rm", "--network", "host", "--entrypoint", "id", IMAGE,
                      "-u").stdout.strip()  # fmt: skip

    assert megabytes < MAX_IMAGE_MB
    assert found == "[]"
    assert user != "0"


def test_make_serve_installs_the_runtime_alone(tmp_path):
    """`make serve`'s venv (built here in a folder of its own): its size, no test tool."""
    venv = tmp_path / "venv-serve"
    made = subprocess.run(["make", "--no-print-directory", f"SERVE_VENV={venv}",
                           f"{venv}/.installed"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    megabytes = int(subprocess.run(["du", "-sm", str(venv)], capture_output=True,
                                   text=True).stdout.split()[0])  # fmt: skip
    found = subprocess.run(
        [venv / "bin" / "python", "-c",
         f"import importlib.util as u; print([m for m in {DEV_TOOLS[:-1]!r} if u.find_spec(m)])"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    say(f"sizes: make serve's venv {megabytes} MB")

    assert found == "[]"


# --- The image alone: SQLite in its volume --------------------------------------------------


@pytest.fixture
def alone(env, images):
    name, volume = f"{PROJECT}-alone", f"{PROJECT}-data"
    docker.run(env, "rm", "--force", name, check=False)
    docker.run(env, "volume", "rm", "--force", volume, check=False)
    yield name, volume
    docker.run(env, "rm", "--force", name, check=False)
    docker.run(env, "volume", "rm", "--force", volume, check=False)


PLAYS = 24 * PAGE


def answering(url: str) -> bool:
    try:
        return fetch(f"{url}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def mirror_state(env, volume: str, settings: dict) -> dict:
    """What the database in the volume holds, read by a one-off container."""
    script = (
        "import json; from profile.models import Play, SyncState; s = SyncState.objects.get(); "
        "print(json.dumps({'plays': Play.objects.count(), 'lease': s.lease_owner, "
        "'next_page': s.walk_next_page, 'backfilled': s.backfilled_at is not None}))"
    )
    done = docker.run(env, "run", "--rm", "--network", "host", "--volume", f"{volume}:/data",
                      *env_args(settings), IMAGE, "python", "manage.py", "shell", "-c", script)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def env_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("--env", f"{name}={value}")]


def test_the_image_alone_keeps_sqlite_in_its_volume_and_stops_a_backfill_cleanly(env, alone, fake):
    name, volume = alone
    fake.set(history=PLAYS, delay=0.5)  # a backfill of 12 s at least
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings_env(fake)
    start = ["run", "--detach", "--name", name, "--network", "host", "--read-only",
             "--tmpfs", "/tmp", "--volume", f"{volume}:/data", *env_args(settings), IMAGE]  # fmt: skip
    docker.run(env, *start, *gunicorn(port))

    # The background job backfills by itself, a few seconds after the start; stop the
    # container in the middle of it.
    until(lambda: answering(url) and fetch_json(f"{url}/healthz")["history"]["running"], 90,
          "a backfill", every=0.2)  # fmt: skip
    began = time.monotonic()
    docker.run(env, "stop", "--time", "30", name)
    say(f"docker stop in the middle of a backfill took {time.monotonic() - began:.1f} s")
    stopped = mirror_state(env, volume, settings)
    text = logs(env, name)

    assert stopped["lease"] == "", "the stopped job still holds the lease"
    assert stopped["plays"] % PAGE == 0, "a page was half written"
    assert stopped["next_page"] is not None and not stopped["backfilled"], stopped
    assert "Traceback" not in text and "unexpected" not in text, text[-3000:]

    # The next start continues where it stopped (within a minute of the walk's last run),
    # and a restart keeps the whole history.
    fake.set(delay=0)
    docker.run(env, "start", name)
    wait_healthy(env, name)
    until(lambda: total_plays(url) == PLAYS, 120, "the backfill continued to the end")
    docker.run(env, "restart", "--time", "30", name)
    wait_healthy(env, name)
    assert total_plays(url) == PLAYS
    assert fetch(f"{url}/readyz")[0] == 200
    assert "Continuing the interrupted backfill" in logs(env, name)


# --- The compose file: PostgreSQL, Redis, scaled --------------------------------------------


class Stack:
    """compose.yaml with compose.host.yaml, in a project folder of its own (its .env)."""

    def __init__(self, env: dict, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.env = env | {
            "IMAGE": IMAGE,
            "POSTGRES_IMAGE": POSTGRES_IMAGE,
            "REDIS_IMAGE": REDIS_IMAGE,
            "WEB_PORT": str(self.port),
            "DB_PORT": str(free_port()),
            "REDIS_PORT": str(free_port()),
        }

    def settings(self, values: dict) -> None:
        """The .env a user writes (compose.yaml reads POSTGRES_PASSWORD from it too)."""
        values = values | {"POSTGRES_PASSWORD": self.password}
        (self.folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def compose(self, *args: str, timeout: float = 600, check: bool = True):
        command = [docker.COMPOSE, "--project-directory", str(self.folder), "--project-name",
                   PROJECT, "--file", str(ROOT / "compose.yaml"), "--file",
                   str(HERE / "compose.host.yaml"), *args]  # fmt: skip
        done = subprocess.run(command, env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        if check and done.returncode:
            raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def web(self) -> list[str]:
        return self.compose("ps", "--quiet", "web").stdout.split()

    def up(self, scale: int = 1) -> list[str]:
        self.compose("up", "--detach", "--no-build", "--scale", f"web={scale}")
        containers = self.web()
        assert len(containers) == scale
        wait_healthy(self.env, *containers)
        return containers


@pytest.fixture
def stack(env, images, tmp_path):
    assert docker.COMPOSE, "docker-compose is not installed: `make image-test` installs it"
    stack = Stack(env, tmp_path)
    stack.settings({"SECRET_KEY": "placeholder"})
    stack.compose("down", "--volumes", "--remove-orphans", check=False)
    yield stack
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)


def test_compose_serves_the_demo_then_syncs_keeps_and_scales_with_one_sync(stack, fake):
    # The demo: no key at all.
    stack.settings(settings_env(None))
    stack.up()
    page = fetch(f"{stack.url}/")
    watching = fetch_json(f"{stack.url}/api/watching")
    healthz = fetch_json(f"{stack.url}/healthz")
    assert page[0] == 200 and b"Demo data" in page[1]
    assert watching["demo"] is True
    assert (healthz["database"], healthz["cache"]) == ("ok", "ok")
    assert fetch(f"{stack.url}/readyz")[0] == 200

    # The owner's keys (the fake's): `up` recreates the site; sync_trakt fills the mirror.
    fake.set(history=2 * PAGE + 17)
    stack.settings(settings_env(fake))
    [web] = stack.up()
    synced = until(lambda: sync_trakt(stack), 120, "sync_trakt (the job may hold the lease)")
    assert re.search(r"\b517 plays\b", synced), synced
    assert total_plays(stack.url) == 517
    assert fetch_json(f"{stack.url}/api/watching")["isWatching"] is True

    # A restart of the site's container keeps the history (PostgreSQL's volume).
    stack.compose("restart", "--timeout", "30", "web")
    wait_healthy(stack.env, web)
    assert total_plays(stack.url) == 517

    # Three containers behind one port, a sync due, a slow Trakt: one sync among them.
    psql = "UPDATE profile_syncstate SET last_attempt_at = NULL"
    stack.compose("exec", "-T", "db", "psql", "-U", "nowwatching", "-d", "nowwatching",
                  "-p", stack.env["DB_PORT"], "-c", psql)  # fmt: skip
    fake.set(delay=0.3)
    since = str(int(time.time()) - 1)
    containers = stack.up(scale=3)
    said = lambda: "".join(logs(stack.env, c, since) for c in containers)  # noqa: E731
    until(lambda: "history sync (" in said(), 90, "a sync by one of the three")
    # Every container's job looks at least once more (a tick is 30 s) after that sync.
    time.sleep(35)
    for _ in range(60):
        assert fetch(f"{stack.url}/api/openapi.json")[0] == 200
    served = [logs(stack.env, c, since).count("GET /api/openapi.json") for c in containers]
    syncs = said().count("history sync (")
    say(f"3 containers on port {stack.port}: answers per container {served}, syncs {syncs}")

    assert syncs == 1
    assert all(served) and sum(served) == 60


def sync_trakt(stack: Stack) -> str | None:
    done = stack.compose("exec", "-T", "web", "python", "manage.py", "sync_trakt", "--no-pace",
                         "--no-posters", check=False)  # fmt: skip
    if done.returncode == 75:  # the container's own job is syncing: try again
        return None
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
