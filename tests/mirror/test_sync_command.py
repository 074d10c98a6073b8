"""`manage.py sync_trakt` as a program: its lines, its exit codes, and two runs at once.

Each runs in its own process against the loopback fake, on a database of its own: a SQLite
file, or (with --postgres) a fresh database on the throwaway PostgreSQL server.
"""

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from nowwatching.databases import guard
from nowwatching.startup import EXIT_STATUS
from tests import mirror
from tests.fake_upstream import FakeUpstream
from tests.servers import ROOT, empty_database, migrated_sqlite, site_env

pytestmark = pytest.mark.both_databases


@pytest.fixture
def database_url(request):
    """A migrated, empty database that other processes can use."""
    if not request.config.getoption("--postgres"):
        with tempfile.TemporaryDirectory() as tmp:
            yield migrated_sqlite(Path(tmp))
        return
    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"sync_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    manage("migrate", "--noinput", env={"DATABASE_URL": url}, check=True)
    yield url
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def manage(*args, env: dict, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=site_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def start(*args, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=site_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C works as at a terminal even when the suite runs in the background: there the
        # shell starts it with SIGINT ignored, which its children inherit (Python then keeps
        # ignoring it rather than raising KeyboardInterrupt).
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_it_prints_its_progress_and_a_last_line_that_says_what_happened(database_url):
    with FakeUpstream(history=600) as fake:
        env = fake.env() | {"DATABASE_URL": database_url}
        first = manage("sync_trakt", "--no-pace", env=env)
        fake.set(history=603)
        second = manage("sync_trakt", "--no-pace", env=env)

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "Backfilling the history: 3 pages of up to 250 plays."
    assert "page 3 of 3" in lines
    assert (
        lines[-1]
        == "600 plays, 600 new, 0 removed, 11 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "603 plays, 3 new, 0 removed, 1 Trakt call"


def test_two_syncs_started_at_once_run_one_at_a_time(database_url):
    # Each answer takes a second: the first sync holds the lease for several seconds.
    with FakeUpstream(history=600, delay=1.0) as fake:
        env = fake.env() | {"DATABASE_URL": database_url}
        runs = [start("sync_trakt", "--no-pace", "--no-posters", env=env) for _ in range(2)]
        results = [(run.wait(timeout=120), *run.communicate()) for run in runs]

    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 75], results
    done = next(out for code, out, _ in results if code == 0)
    busy = next(err for code, _, err in results if code == 75)
    assert (
        done.splitlines()[-1]
        == "600 plays, 600 new, 0 removed, 11 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )
    assert busy.startswith("Another sync is running (")
    assert "try again later" in busy
    assert fake.calls("trakt:/users/sean/history") == 4  # one walk (and its count), not two


def test_a_failure_exits_non_zero_with_the_reason(database_url):
    with FakeUpstream(history=10) as fake:
        env = fake.env() | {"DATABASE_URL": database_url, "TRAKT_API_KEY": "not-the-key"}
        result = manage("sync_trakt", "--no-pace", env=env)

    assert result.returncode == 1
    assert "Sync failed: Trakt refused this API app (HTTP 403)" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-key" not in result.stderr + result.stdout


def test_without_a_key_it_says_what_to_set(database_url):
    # Without a key the site shows the imported export: there is nothing to sync from.
    env = {"DATABASE_URL": database_url, "TRAKT_USERNAME": "sean", "DEMO_MODE": "false"}
    result = manage("sync_trakt", env=env)

    assert result.returncode == 1
    assert "TRAKT_API_KEY is not set" in result.stderr
    assert "import_trakt_export" in result.stderr and "Traceback" not in result.stderr
    # With neither a key nor a username the site cannot start at all.
    result = manage("sync_trakt", env=env | {"TRAKT_USERNAME": ""})
    assert result.returncode == EXIT_STATUS
    assert "for example" in result.stderr and "Traceback" not in result.stderr


def test_an_interrupted_backfill_says_where_the_next_run_continues(database_url):
    with FakeUpstream(history=600, history_429_call=3, retry_after=3600) as fake:
        env = fake.env() | {"DATABASE_URL": database_url}
        run = start("sync_trakt", "--no-pace", env=env | {"PYTHONUNBUFFERED": "1"})
        # Page 3 answers 429 with an hour to wait: the run waits; stop it as Ctrl-C would.
        output = []
        for line in run.stdout:
            output.append(line)
            if "waiting 3600 s" in line:
                run.send_signal(signal.SIGINT)
                break
        _, err = run.communicate(timeout=60)
        fake.set(history_429_call=None)
        again = manage("sync_trakt", "--no-pace", env=env)

    assert run.returncode == 1
    assert "Interrupted. The next run continues the backfill at page 3." in err
    assert again.returncode == 0
    assert "Continuing the interrupted backfill at page 3." in again.stdout
    assert again.stdout.splitlines()[-1].startswith("600 plays, 101 new, 0 removed")


def test_the_demo_history_is_mirrored_without_keys(database_url):
    result = manage("sync_trakt", env={"DATABASE_URL": database_url, "DEMO_MODE": "true"})

    assert result.returncode == 0, result.stderr
    plays = int(result.stdout.splitlines()[-1].split()[0].replace(",", ""))
    assert plays > 1500


def test_on_a_terminal_it_draws_a_progress_bar(database_url):
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    with FakeUpstream(history=1500, delay=0.05) as fake:
        env = fake.env() | {"DATABASE_URL": database_url}
        run = subprocess.Popen(
            [sys.executable, "manage.py", "sync_trakt", "--no-pace", "--no-posters"],
            cwd=ROOT,
            env=site_env(env),
            stdout=terminal,
            stderr=terminal,
        )
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            output += chunk
        run.wait(timeout=60)
        os.close(main)

    text = output.decode(errors="replace")
    assert run.returncode == 0, text
    # tqdm's bar, over the 6 pages Trakt counts at first, then the 7 windows they take (each
    # begins with the oldest play of the one before).
    assert "page/s]" in text and "0/6 [" in text and "/7 [" in text
    assert text.replace("\r", "\n").strip().splitlines()[-1] == (
        "1,500 plays, 1,500 new, 0 removed, 15 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )


def test_a_killed_sync_leaves_no_lease_that_blocks_the_next_run(database_url):
    with FakeUpstream(history=600, delay=1.0) as fake:
        env = fake.env() | {"DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        killed = start("sync_trakt", "--no-pace", "--no-posters", env=env)
        assert killed.stdout.readline().startswith("Backfilling the history")  # holds the lease
        killed.kill()
        killed.communicate(timeout=30)
        fake.set(delay=0.0)
        again = manage("sync_trakt", "--no-pace", "--no-posters", env=env)

    assert again.returncode == 0, again.stderr
    assert "Another sync is running" not in again.stderr
    assert f"pid {killed.pid} on this machine" in again.stdout
    assert again.stdout.splitlines()[-1].startswith("600 plays")


# --- The database failing: one line, exit 1 --------------------------------------------------


def assert_one_line_reason(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: Sync failed: ")
    assert reason in last


@pytest.fixture
def unmigrated_url(request, tmp_path):
    """An empty database: nobody ran `manage.py migrate` on it."""
    with empty_database(request, tmp_path, "empty") as url:
        yield url


def test_a_database_nobody_migrated_is_one_line_that_says_to_migrate(unmigrated_url):
    with FakeUpstream(history=10) as fake:
        result = manage(
            "sync_trakt", "--no-pace", env=fake.env() | {"DATABASE_URL": unmigrated_url}
        )

    assert_one_line_reason(result, "run `manage.py migrate`")


def test_a_postgresql_that_is_down_is_one_line_that_names_the_setting():
    from tests.servers import free_port

    down = f"postgres://postgres@127.0.0.1:{free_port()}/nowwatching"
    with FakeUpstream(history=10) as fake:
        result = manage("sync_trakt", "--no-pace", env=fake.env() | {"DATABASE_URL": down})

    assert_one_line_reason(result, "cannot be reached")
    assert "DATABASE_URL" in result.stderr.strip().splitlines()[-1]


def call_sync() -> str:
    """`manage.py sync_trakt` in this process: the CommandError it ends with."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as failed:
        call_command("sync_trakt", "--no-pace", "--no-posters")
    assert failed.value.returncode == 1
    return str(failed.value)


@pytest.mark.django_db(transaction=True)
def test_a_read_only_database_is_one_line(reset_fake):
    from django.db import connection

    reset_fake.set(history=10)
    read_only = {
        "sqlite": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        "postgresql": (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        ),
    }[connection.vendor]
    # Under the sync's own limits: its connection is this one, not one opened afresh.
    with guard.limits(guard.SYNC):
        with connection.cursor() as cursor:
            cursor.execute(read_only[0])
        try:
            message = call_sync()
        finally:
            with connection.cursor() as cursor:
                cursor.execute(read_only[1])

    assert message.startswith("Sync failed: The database is read-only")


@pytest.mark.django_db(transaction=True)
def test_a_database_locked_by_another_writer_is_one_line(reset_fake):
    reset_fake.set(history=10)

    with mirror.another_writer():
        message = call_sync()

    assert message.startswith("Sync failed: The database is locked by another writer")
