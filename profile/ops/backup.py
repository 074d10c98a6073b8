"""A consistent copy of the database while the site runs, and bringing one back.

- SQLite: SQLite's online backup API copies the database in one read transaction (the site
  keeps reading and writing meanwhile: WAL), into a single self-contained file.
- PostgreSQL: `pg_dump` (one snapshot) in its custom format; `pg_restore` brings it back in
  one transaction, so a restore that fails leaves the database as it was.

A backup holds the owner's Trakt tokens as they are stored: encrypted under a key derived
from SECRET_KEY (`signin.sealing`). It is written readable by its owner only. After a
restore the mirror's version moves past what both the restored and the replaced database
had reached, so figures cached under either are never served for the other.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, connection
from django.utils import timezone

from profile.mirror.state import forget_mirror, version_past
from profile.models import SyncState
from profile.ops.migrations import sqlite_file

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".dump"}
KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# pg_dump and pg_restore of a big history take a while; a hung server must not hang a cron job.
PG_TIMEOUT = 3600


class BackupError(Exception):
    """Why a backup or a restore could not be done, in one sentence for the operator."""


@dataclass(frozen=True)
class Copy:
    kind: str  # "sqlite" or "postgresql"
    path: Path
    size: int  # bytes


def backup(target: Path) -> Copy:
    """Copies the database to `target` (a file, replaced whole only once the copy is
    complete; or a folder, for a file named after the time), while the site runs."""
    kind = _kind(existing=True)
    if target.is_dir():
        target = target / backup_name(kind, timezone.localtime())
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to write the backup into.")
    partial = target.with_name(f".{target.name}.partial")
    try:
        _private_file(partial)
        if kind == "sqlite":
            _sqlite_backup(partial)
        else:
            _pg(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                 "--file", str(partial)])  # fmt: skip
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copy(kind, target, target.stat().st_size)


def restore(source: Path) -> Copy:
    """Replaces the whole database with the backup in `source`. Stop the site first: a
    restore under running processes works, but what they write meanwhile is lost. A SQLite
    database that does not exist yet (a new server) is made."""
    kind = _kind(existing=False)
    found = backup_kind(source)
    if found != kind:
        raise BackupError(
            f"{source} is a {KIND_NAMES[found]} backup, and this site's database "
            f"(DATABASE_URL) is {KIND_NAMES[kind]}: restore it into a {KIND_NAMES[found]} one."
        )
    replaced = _version()
    if kind == "sqlite":
        _sqlite_restore(source)
    else:
        _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", "--dbname", _pg_database(),
             str(source)])  # fmt: skip
    connection.close()
    try:
        SyncState.objects.row().update(**version_past(replaced))
    except DatabaseError:
        pass  # a backup older than the mirror: `migrate` brings its tables, at version 0
    forget_mirror()
    return Copy(kind, source, source.stat().st_size)


def backup_kind(path: Path) -> str:
    """Which database made the backup in `path` ("sqlite" or "postgresql"), by its first
    bytes."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a backup made by `manage.py backup`.")


def backup_name(kind: str, moment: datetime) -> str:
    return f"nowwatching-{moment:%Y%m%d-%H%M%S}{SUFFIX[kind]}"


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_backup(partial: Path) -> None:
    connection.ensure_connection()
    copy = sqlite3.connect(partial)
    try:
        # One step (pages=-1): one read transaction, so the copy is one moment of the database.
        connection.connection.backup(copy)
        # One file, whatever the journal mode of the original (WAL).
        copy.execute("PRAGMA journal_mode=DELETE")
        _check(copy, partial)
    finally:
        copy.close()


def _sqlite_restore(source: Path) -> None:
    original = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check(original, source)
        connection.ensure_connection()
        # Into the live file, as one write transaction: other connections see either the
        # old database or the restored one.
        original.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(f"Could not restore {source}: {error}.") from None
    finally:
        original.close()


def _check(database: sqlite3.Connection, path: Path) -> None:
    try:
        result = database.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a sound SQLite database: {error}.") from None
    if result != "ok":
        raise BackupError(f"{path} is not a sound SQLite database: {result}.")


# --- PostgreSQL ---------------------------------------------------------------------------

# DATABASE_URL's options that PostgreSQL's programs take from the environment.
PG_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def _pg_database() -> str:
    return connection.settings_dict["NAME"]


def _pg(command: list[str]) -> None:
    """Runs pg_dump or pg_restore against the site's database; the password travels in the
    environment, never on the command line (where `ps` would show it)."""
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(
            f"{command[0]} is not installed: install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client), of the server's version or newer."
        )
    settings = connection.settings_dict
    env = {"PATH": os.environ.get("PATH", ""), "PGDATABASE": settings["NAME"]}
    for name, value in (
        ("PGHOST", settings.get("HOST")),
        ("PGPORT", settings.get("PORT")),
        ("PGUSER", settings.get("USER")),
        ("PGPASSWORD", settings.get("PASSWORD")),
    ):
        if value:
            env[name] = str(value)
    for option, name in PG_OPTIONS.items():
        if settings.get("OPTIONS", {}).get(option):
            env[name] = str(settings["OPTIONS"][option])
    try:
        done = subprocess.run(
            [program, *command[1:]],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(
            f"{command[0]} did not finish within {PG_TIMEOUT // 60} minutes."
        ) from None
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{command[0]} failed: {lines[-1] if lines else done.returncode}")


# --- Shared -------------------------------------------------------------------------------


def _kind(existing: bool) -> str:
    """Which database DATABASE_URL names; with `existing`, a SQLite file must be there."""
    if connection.vendor == "sqlite":
        path = sqlite_file(connection)
        if path is None:
            raise BackupError("The database lives in memory: there is nothing to back up.")
        if existing and not path.is_file():  # connecting would create an empty one
            raise BackupError(
                f"There is no database at {path} yet (DATABASE_URL): start the site or run "
                "`manage.py migrate` first."
            )
        return "sqlite"
    if connection.vendor == "postgresql":
        return "postgresql"
    raise BackupError(f"Backups of a {connection.vendor} database are not supported.")


def _private_file(path: Path) -> None:
    """An empty file only its owner may read: a backup holds the (encrypted) tokens."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _version() -> int:
    try:
        return SyncState.objects.row().values_list("version", flat=True).first() or 0
    except DatabaseError:  # not migrated yet
        connection.close()
        return 0
