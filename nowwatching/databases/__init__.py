"""The database, in trouble: what a failure means, in one line a person can act on.

`problem(error)` names the kind of failure (locked, read-only, not migrated, unreachable, too
slow) from the driver's error, SQLite's or PostgreSQL's alike, without the driver's own text
(which may name the server's address or user). `sync_trakt` ends with it; the site's own
lines about the database use it too.
"""

from __future__ import annotations

from enum import Enum

import environ

# Django's backends, and ours over them (the guard: limits and a breaker, guard.py).
ENGINES = {
    "django.db.backends.postgresql": "nowwatching.databases.postgresql",
    "django.db.backends.sqlite3": "nowwatching.databases.sqlite3",
}


def config(url: str) -> dict:
    """settings.DATABASES["default"] for a DATABASE_URL (settings.py, and the tests' own
    PostgreSQL)."""
    database = environ.Env.db_url_config(url)
    database["ENGINE"] = ENGINES.get(database["ENGINE"], database["ENGINE"])
    # Each worker keeps its connection between requests (opening one, with SQLite's PRAGMAs,
    # cost about a millisecond a page); a broken one is replaced at the next request.
    database["CONN_MAX_AGE"] = 60
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"].endswith("sqlite3"):
        database["OPTIONS"] = {
            # Readers never wait for the writer (the history sync) and the writer never blocks
            # them; a write transaction takes its lock when it begins, not halfway through.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        }
    return database


class Trouble(Enum):
    LOCKED = "The database is locked by another writer; try again when it is done."
    READ_ONLY = (
        "The database is read-only: nothing can be written to it (check the file's permissions "
        "or the database user's rights, and DATABASE_URL)."
    )
    NOT_MIGRATED = "The database is not set up: run `manage.py migrate` first."
    UNREACHABLE = (
        "The database cannot be reached or opened: check DATABASE_URL, and that the server "
        "runs (PostgreSQL) or the file's folder exists (SQLite)."
    )
    TOO_SLOW = "The database did not answer in time: it may be hung or overloaded."
    OTHER = "The database failed."


# PostgreSQL's SQLSTATE codes (psycopg errors carry them), and SQLite's messages.
_SQLSTATES = {
    "42P01": Trouble.NOT_MIGRATED,  # undefined_table
    "25006": Trouble.READ_ONLY,  # read_only_sql_transaction
    "55P03": Trouble.LOCKED,  # lock_not_available (lock_timeout)
    "57014": Trouble.TOO_SLOW,  # query_canceled (statement_timeout)
    "57P01": Trouble.UNREACHABLE,  # admin_shutdown
    "57P03": Trouble.UNREACHABLE,  # cannot_connect_now (starting up, shutting down)
}
_SQLITE = (
    ("database is locked", Trouble.LOCKED),
    ("database table is locked", Trouble.LOCKED),
    ("readonly database", Trouble.READ_ONLY),
    ("no such table", Trouble.NOT_MIGRATED),
    ("unable to open database file", Trouble.UNREACHABLE),
    ("disk i/o error", Trouble.UNREACHABLE),
    ("file is not a database", Trouble.UNREACHABLE),
)


def trouble(error: BaseException) -> Trouble:
    """What a database error (Django's, or the driver's beneath it) means."""
    known = getattr(error, "trouble", None)  # the guard's own errors say it (guard.py)
    if isinstance(known, Trouble):
        return known
    cause = error.__cause__ if error.__cause__ is not None else error
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in _SQLSTATES:
        return _SQLSTATES[sqlstate]
    if sqlstate and sqlstate.startswith("08"):  # connection_exception
        return Trouble.UNREACHABLE
    text = str(cause).lower()
    for words, found in _SQLITE:
        if words in text:
            return found
    module = type(cause).__module__ or ""
    # psycopg's OperationalError without a SQLSTATE: the server never answered (refused,
    # down, a connection cut, a connect timeout).
    if module.startswith("psycopg") and type(cause).__name__ in (
        "OperationalError",
        "InterfaceError",
    ):
        return Trouble.UNREACHABLE
    if "timeout" in text or "timed out" in text:
        return Trouble.TOO_SLOW
    return Trouble.OTHER


def problem(error: BaseException) -> str:
    """The failure in one line; for an unknown kind, the error's class (never its text)."""
    found = trouble(error)
    if found is Trouble.OTHER:
        cause = error.__cause__ if error.__cause__ is not None else error
        return f"The database failed ({type(cause).__name__})."
    return found.value
