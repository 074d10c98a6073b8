"""The database, which the site outlives: every call bounded in time, and a breaker per
process, as for the shared cache (nowwatching/cache_backend.py).

- **Limits.** A visitor's request may wait on PostgreSQL at most about 2 s: 2 s to connect
  (libpq's connect_timeout), 1.5 s for a statement and 1 s for a lock (PostgreSQL's own
  statement_timeout and lock_timeout), and, for a server that no longer answers at all (a
  frozen process keeps its sockets open: the kernel still accepts), a deadline enforced here:
  a watchdog thread shuts the socket of a call that outlives it, which ends the wait at once.
  The history sync gets longer limits (`limits(SYNC)`); management commands and tests none but
  the connect timeout, unless they ask (`serving()` sets the visitors' for a server process).
- **The breaker.** The first call that finds the database unreachable, not set up or too slow
  opens it (one warning, naming the trouble); from then on this process's calls fail at once
  (`Unavailable`, a DatabaseError every caller already handles by serving what it kept), and
  one call every few seconds tries again; the first that works closes it ("back after N s").
  A hung database therefore costs one bounded wait per process every few seconds, not one per
  request, and the log gets two lines per outage, not one per request. A write refused as
  read-only, or SQLite's writer lock, says nothing about reading: they do not open it.

`status()` says "ok" or "degraded", for /healthz.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DatabaseError, connections
from django.db.utils import OperationalError

from nowwatching.cache_backend import HEALTH_PING_SECONDS, Breaker
from nowwatching.databases import Trouble, trouble

log = logging.getLogger("nowwatching.database")


@dataclass(frozen=True)
class Limits:
    """How long a call may wait, in seconds; None: as long as it takes."""

    connect: int  # libpq counts whole seconds, 2 at least
    statement: float | None = None  # PostgreSQL's statement_timeout
    lock: float | None = None  # PostgreSQL's lock_timeout
    deadline: float | None = None  # the call cut here: a server that answers nothing


VISITOR = Limits(connect=2, statement=1.5, lock=1.0, deadline=2.0)
# The sync writes pages of 250 plays and sweeps in batches: seconds, not minutes.
SYNC = Limits(connect=5, statement=30.0, lock=5.0, deadline=35.0)
COMMAND = Limits(connect=10)

_process_limits = COMMAND
_thread = threading.local()


def serving() -> None:
    """This process serves visitors: its calls get the visitors' limits (wsgi.py, asgi.py)."""
    global _process_limits
    _process_limits = VISITOR


def current() -> Limits:
    return getattr(_thread, "limits", None) or _process_limits


@contextlib.contextmanager
def limits(chosen: Limits) -> Iterator[None]:
    """This thread's calls under `chosen` limits (its connection is opened again with them)."""
    before = getattr(_thread, "limits", None)
    _thread.limits = chosen
    try:
        yield
    finally:
        _thread.limits = before


class Unavailable(OperationalError):
    """Refused at once: the breaker is open (the database failed a moment ago)."""

    def __init__(self, found: Trouble):
        super().__init__(found.value)
        self.trouble = found


class TooSlow(OperationalError):
    """Cut at the deadline: the database did not answer."""

    trouble = Trouble.TOO_SLOW


def _outage(error: BaseException, vendor: str) -> bool:
    """Whether `error` says the database cannot be read now (so the breaker opens)."""
    if isinstance(error, Unavailable):
        return False  # refused by the breaker itself: nothing new
    found = trouble(error)
    if found is Trouble.LOCKED:
        # PostgreSQL's lock_timeout: a read waited on a lock (LOCK TABLE, a long migration).
        # SQLite's writer lock never holds readers up (WAL): it says nothing about them.
        return vendor == "postgresql"
    return found in (Trouble.UNREACHABLE, Trouble.NOT_MIGRATED, Trouble.TOO_SLOW)


def reported(error: BaseException, alias: str = "default") -> bool:
    """Whether the breaker speaks for `error` (it said when the outage began, and will say
    when it ends): callers then add no line of their own, per request."""
    return isinstance(error, Unavailable) or _outage(error, connections[alias].vendor)


def _describe(error: BaseException | None) -> str:
    found = trouble(error) if error is not None else Trouble.OTHER
    return {
        Trouble.LOCKED: "a lock held too long",
        Trouble.NOT_MIGRATED: "not set up: run manage.py migrate",
        Trouble.TOO_SLOW: "no answer in time",
        Trouble.UNREACHABLE: "cannot connect",
    }.get(found, type(error).__name__ if error is not None else "error")


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(alias: str, where: str) -> Breaker:
    """The process's breaker of database `alias` (every thread's connection shares it)."""
    found = _breakers.get(alias)  # every call asks: no lock once it exists
    if found is not None:
        return found
    with _breakers_lock:
        if alias not in _breakers:
            _breakers[alias] = Breaker(
                where,
                what="The database",
                meanwhile="this process serves what it kept, refuses the rest at once,",
                describe=_describe,
                logger=log,
            )
        return _breakers[alias]


def forget_breakers() -> None:
    """Start afresh (tests)."""
    with _breakers_lock:
        _breakers.clear()


# --- The deadline, at the socket ------------------------------------------------------------------


class _Watchdog:
    """One thread per process: every TICK it cuts the calls that outlived their deadline.
    A call costs two attribute writes, not a timer of its own."""

    TICK = 0.1

    def __init__(self):
        self._watched: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, wrapper) -> None:
        with self._lock:
            self._watched.add(wrapper)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="database-deadlines", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                watched = list(self._watched)
            for wrapper in watched:
                wrapper._cut_if_late(now)

    def _after_fork(self) -> None:
        # A forked child (a gunicorn worker) has no watchdog thread: start afresh.
        self._watched = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread = None


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._after_fork)


class Guarded:
    """Mixed into a backend's DatabaseWrapper (nowwatching/databases/postgresql/, sqlite3/)."""

    # Whether a call can be cut at a socket (PostgreSQL); SQLite is a local file.
    cut_at_socket = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A function, not a bound method: the wrapper must not hold itself (a cycle keeps a
        # finished thread's connection open until the garbage collector comes by).
        self.execute_wrappers.append(_guarded_execute)
        self._busy: tuple[float, int] | None = None  # (deadline, call) while a call waits
        self._calls = 0
        self._cut = False
        self._busy_lock = threading.Lock()
        self._granted = False  # this connection carries the breaker's probe
        self._opened_with: Limits | None = None

    @property
    def breaker(self) -> Breaker:
        found = _breakers.get(self.alias)
        return found if found is not None else breaker_for(self.alias, self.where())

    def where(self) -> str:
        """The database's address for the log (never its user or password)."""
        return str(self.settings_dict.get("NAME") or "?")

    # --- the breaker --------------------------------------------------------------------------

    def _may_proceed(self) -> None:
        breaker = self.breaker
        if not breaker.is_open or self._granted:
            return
        if breaker.allows():
            self._granted = True  # this call is the probe
            return
        error = breaker.last_error
        raise Unavailable(trouble(error) if error is not None else Trouble.UNREACHABLE)

    def _outcome(self, error: BaseException | None) -> None:
        breaker = self.breaker
        if error is not None and _outage(error, self.vendor):
            self._granted = False
            breaker.failed(error)
        elif error is None or not isinstance(error, Unavailable):
            self._granted = False
            breaker.succeeded()  # it answered (an IntegrityError is an answer too)

    @contextlib.contextmanager
    def _guarded(self, *, count_success: bool = True) -> Iterator[None]:
        with self._bounded():
            try:
                yield
            except DatabaseError as error:
                if self._cut:
                    self._cut = False
                    late = TooSlow(Trouble.TOO_SLOW.value)
                    self._outcome(late)
                    raise late from error
                self._outcome(error)
                raise
        if count_success:
            self._outcome(None)

    # --- the deadline -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _bounded(self) -> Iterator[None]:
        deadline = current().deadline
        if deadline is None or not self.cut_at_socket:
            yield
            return
        _watchdog.watch(self)
        with self._busy_lock:
            self._calls += 1
            self._busy = (time.monotonic() + deadline, self._calls)
            self._cut = False
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy = None

    def _cut_if_late(self, now: float) -> None:
        with self._busy_lock:
            if self._busy is None or now < self._busy[0]:
                return
            self._busy = None
            self._cut = True
            self._shut_socket()

    def _shut_socket(self) -> None:
        """Ends whatever read or write waits on the connection's socket (the backend's)."""

    # --- Django's entry points ----------------------------------------------------------------

    def ensure_connection(self):
        if (
            self.connection is not None
            and self._opened_with is not None
            and self._opened_with != current()
            and not self.in_atomic_block
        ):
            self.close()  # opened with other limits: again, with these
        if self.connection is not None:
            return
        self._may_proceed()
        # A connection that opens proves little (a locked table, no tables at all): only a
        # call that reads closes the breaker.
        with self._guarded(count_success=False):
            super().ensure_connection()

    def connect(self):
        self._opened_with = current()  # what get_connection_params() asks for
        super().connect()

    def _commit(self):
        with self._guarded(count_success=False):
            return super()._commit()

    def _rollback(self):
        with self._guarded(count_success=False):
            return super()._rollback()

    def is_usable(self):
        if self.breaker.is_open and not self._granted:
            return False  # the next call is refused or probes anyway
        with self._bounded():
            usable = super().is_usable()
        if self._cut:
            # No answer in time: the breaker opens now, or the connection opened next would
            # wait its own timeout too.
            self._cut = False
            self._outcome(TooSlow(Trouble.TOO_SLOW.value))
            return False
        return usable


def _guarded_execute(execute, sql, params, many, context):
    """Every statement: refused at once while the breaker is open, bounded in time."""
    wrapper = context["connection"]
    wrapper._may_proceed()
    with wrapper._guarded():
        return execute(sql, params, many, context)


def status(alias: str = "default") -> str:
    """ "ok", or "degraded" while the database cannot be read (this process then serves what
    it kept). Known from the last call when recent; else one quick SELECT, under the breaker
    and the visitors' limits."""
    wrapper = connections[alias]
    breaker = wrapper.breaker
    if not breaker.is_open and time.monotonic() - breaker.last_ok < HEALTH_PING_SECONDS:
        return "ok"
    try:
        with limits(VISITOR), wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "degraded"
    return "ok"


def _shut(descriptor: int) -> None:
    try:
        # A duplicate of the descriptor: shutting it down shuts the connection down for every
        # descriptor of it; closing it closes only the duplicate.
        with socket.socket(fileno=os.dup(descriptor)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile
