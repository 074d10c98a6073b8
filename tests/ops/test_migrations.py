"""`manage.py migrate` one process at a time (profile/ops/migrations.py): several sites
starting at once against one database migrate it once; the others wait, then find nothing
to do."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from profile.ops.migrations import WAITING, migration_lock
from tests.servers import ROOT, site_env

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]


def database_url(name: str | None = None) -> str:
    """DATABASE_URL of the test database (or of another one on the same server)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name or settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name or settings['NAME']}"


def start_migrate(url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=site_env({"DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def first_line(process: subprocess.Popen, timeout: float = 60) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))
    reader.start()
    reader.join(timeout)
    assert line, f"nothing said within {timeout} s"
    return line[0]


def test_a_second_migrate_waits_for_the_first_then_finds_nothing_to_do():
    with migration_lock(connection):
        second = start_migrate(database_url())
        said = first_line(second)
        still_waiting = second.poll() is None

    rest, _ = second.communicate(timeout=120)

    assert WAITING in said and still_waiting
    assert second.returncode == 0, rest
    assert "No migrations to apply." in rest


@pytest.fixture
def empty_database(tmp_path):
    """A database no migration ran on yet (a new volume, a new PostgreSQL service)."""
    if connection.vendor == "sqlite":
        yield database_url(str(tmp_path / "new.sqlite3"))
        return
    name = f"race_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_three_sites_starting_at_once_migrate_a_new_database_once(empty_database):
    def run(_):
        process = start_migrate(empty_database)
        return process.communicate(timeout=180)[0], process.returncode

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, range(3)))

    assert [code for _, code in results] == [0, 0, 0], results
    applied = [out for out, _ in results if "Applying profile.0001_initial... OK" in out]
    assert len(applied) == 1, results
    assert sum("No migrations to apply." in out for out, _ in results) == 2
