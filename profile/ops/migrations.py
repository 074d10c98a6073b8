"""Migrations one process at a time, and which are pending.

Several containers (or `make serve` on several hosts) may start against one database at
once, and each migrates first. Django's `migrate` is not safe run twice at the same moment
(both would apply the same migration), so `migration_lock()` lets one in and makes the
others wait, then find nothing left to do: a session advisory lock on PostgreSQL (held by
the very connection `migrate` uses, released with it if the process dies), and an exclusive
`flock` on a file beside the database on SQLite (all the writers of one SQLite file share
its folder, also across containers that mount it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

# The advisory lock's key: a fixed 64-bit number of our own (PostgreSQL's keys are bigint).
ADVISORY_KEY = int.from_bytes(
    hashlib.sha256(b"nowwatching:migrate").digest()[:8], "big", signed=True
)
# Where each release left the database, oldest first: its last migration per app. An
# upgrade is tested from the newest entry's database (tests/ops/test_upgrade.py), whatever
# migrations came since. Add a line when making a release.
RELEASES: dict[str, dict[str, str]] = {
    "1.0.0": {"profile": "0002_history_mirror"},
}
WAITING = "Another process is applying migrations to this database; waiting for it to finish."


@contextlib.contextmanager
def migration_lock(
    connection: BaseDatabaseWrapper, say: Callable[[str], None] = lambda line: None
) -> Iterator[None]:
    """Held while migrating: one process at a time per database. `say` hears one line when
    this process has to wait."""
    if connection.vendor == "postgresql":
        with _advisory_lock(connection, say):
            yield
    elif connection.vendor == "sqlite" and (path := sqlite_file(connection)) is not None:
        with _file_lock(Path(f"{path}.migrate-lock"), say):
            yield
    else:  # an in-memory SQLite database belongs to one process
        yield


def sqlite_file(connection: BaseDatabaseWrapper) -> Path | None:
    """The file of a SQLite database, or None when it lives in memory."""
    name = str(connection.settings_dict["NAME"])
    if connection.is_in_memory_db() or not name:
        return None
    return Path(name)


@contextlib.contextmanager
def _advisory_lock(connection: BaseDatabaseWrapper, say) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
        if not cursor.fetchone()[0]:
            say(WAITING)
            cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
    try:
        yield
    finally:
        if connection.connection is not None:  # else the lock went with the connection
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])


@contextlib.contextmanager
def _file_lock(path: Path, say) -> Iterator[None]:
    # Never deleted: removing a lock file while another process waits on it would let a
    # third one in beside it.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(WAITING)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # and with it the lock


def pending_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    """The migrations this code has that the database has not applied ("profile.0003_...")."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
