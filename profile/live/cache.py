"""Reuse, single flight, stale-while-revalidate and stale-if-error for every upstream answer.

Every Trakt answer goes through `through_cache()`, so the upstream cost does not grow with
traffic and no visitor waits on Trakt once an answer is kept:

- a fresh answer (younger than its reuse window) is served as it is;
- an older kept answer is served too, while one refresh runs in the background (one per
  answer across threads, processes and machines sharing the cache, by the shared lock);
- only when nothing usable is kept (a cold cache) does a caller wait: one asks Trakt, the
  others wait for its result, boundedly;
- when Trakt fails, the last good answer is served, marked stale (`Cached.stale`), while it
  still makes sense; the failure is remembered a few seconds so Trakt is not asked again
  by every caller.

TMDB answers, which hardly ever change, are kept a day by `kept_a_day()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.cache import cache, caches
from django.db import close_old_connections

from profile.client import UpstreamError

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY = "nowwatching:v1:"
# Longer than a slow fetch (Trakt, then two TMDB calls), so a live holder keeps its lock;
# short enough that a holder that died frees it soon. Only a fetch that runs into every
# timeout (about 30 s) outlives it, and then a second caller may fetch too: one extra call.
LOCK_SECONDS = 15
# How long a caller with nothing to serve waits for another caller's fetch (a cold cache),
# and, when a kept answer could be served stale instead, how long it waits before that.
WAIT_SECONDS = 12
WAIT_WITH_STALE_SECONDS = 1.0
POLL_SECONDS = 0.05
# After a failed fetch nobody asks Trakt again for this long (at most the reuse window):
# while Trakt is down, the calls it gets stay one per few seconds whatever the traffic.
ERROR_SECONDS = 5
# Every answer is kept at least this long past its reuse window, to be served while it is
# refreshed (an idle "nothing playing" too), and at most KEEP_MAX_SECONDS.
REVALIDATE_SECONDS = 60 * 60
KEEP_MAX_SECONDS = 7 * 24 * 60 * 60
# This process's copy of each answer: read first while fresh (no round trip), and kept to
# serve while refreshing if the shared cache has lost its own.
KEEP_LOCALLY_SECONDS = 60 * 60
# A process that found the refresh lock taken leaves it alone this long before trying again.
RETRY_REFRESH_SECONDS = 1.0
TMDB_SECONDS = 24 * 60 * 60
TMDB_FAILURE_SECONDS = 5 * 60


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    stored_at: float  # time.time() when it came from upstream
    stale: bool = False  # served because the upstream is failing

    @property
    def age(self) -> int:
        return max(0, int(time.time() - self.stored_at))


class NotKept(LookupError):
    """Nothing usable is kept and the caller said it would not wait (`wait=False`)."""


def always(value) -> bool:
    """Any kept value will do."""
    return True


def through_cache(
    name: str,
    fetch: Callable[[], T],
    *,
    fresh_for: float,
    keep_for: Callable[[T], float],
    stale_ok: Callable[[T], bool] = always,
    revalidate_ok: Callable[[T], bool] = always,
    wait: bool = True,
    on_change: Callable[[T | None, T], None] | None = None,
) -> Cached[T]:
    """The kept answer, refreshed in the background once older than `fresh_for`.

    `revalidate_ok(value)` says whether a kept value may be served while it is refreshed
    (a movie that has ended may not: the caller waits for the new answer instead). When
    nothing of the kind is kept, one caller fetches and the others wait: at most
    WAIT_WITH_STALE_SECONDS when a kept value passes `stale_ok` (it is served marked stale),
    WAIT_SECONDS otherwise. A failed fetch is reused for a few seconds instead of asking
    upstream again. Raises UpstreamError when the fetch fails and no kept value passes
    `stale_ok`. With `wait=False` a caller that would have to fetch or wait gets NotKept
    instead (the page asks in its own thread first, and only what is not kept in others).
    `on_change(before, after)` is called after a fetched answer is stored, with the one it
    replaced (or None): to push what changed to open pages.
    """
    key = KEY + name
    keys = _Keys(key, key + ":lock", key + ":error")
    if fresh_for <= 0:
        if not wait:
            raise NotKept(name)
        # Reuse is off: every caller asks upstream, but a good answer is still kept for errors.
        entry = cache.get(key)
        return _refresh(keys, fetch, keep_for, fresh_for, entry, stale_ok, ERROR_SECONDS, on_change)
    # This process's copy first: while fresh it is the shared answer, without a round trip.
    local = caches["local"].get(key)
    if _fresh(local, fresh_for):
        return local
    shared = cache.get(key)
    if shared is None and local is not None and _forgotten_since(key, local):
        local = None  # forgotten (another process signed in or out): not served any more
    entry = _newer(shared, local)
    if _fresh(entry, fresh_for):
        return _keep_locally(key, entry)
    recent_error = cache.get(keys.error)
    if recent_error is not None:
        return _stale_or_raise(entry, recent_error, stale_ok)
    if entry is not None and revalidate_ok(entry.value):
        # Stale while revalidating: served now, not marked stale (upstream is not failing).
        _revalidate_in_background(name, keys, fetch, fresh_for, keep_for, stale_ok, on_change)
        return entry
    if not wait:
        raise NotKept(name)
    return _fetch_or_wait(keys, fetch, fresh_for, keep_for, entry, stale_ok, on_change)


@dataclass(frozen=True)
class _Keys:
    value: str
    lock: str
    error: str


def _fetch_or_wait(keys, fetch, fresh_for, keep_for, entry, stale_ok, on_change) -> Cached:
    """A cold cache: one caller (the lock's holder) fetches, the others wait for it."""
    token = uuid.uuid4().hex
    if cache.add(keys.lock, token, timeout=LOCK_SECONDS):
        try:
            # Someone may have stored a fresh answer between our get and our add.
            latest = cache.get(keys.value)
            if _fresh(latest, fresh_for):
                return _keep_locally(keys.value, latest)
            error_seconds = min(ERROR_SECONDS, fresh_for)
            return _refresh(
                keys, fetch, keep_for, fresh_for, latest, stale_ok, error_seconds, on_change
            )
        finally:
            _release(keys.lock, token)

    seen = entry.stored_at if entry is not None else 0.0
    can_serve_stale = entry is not None and stale_ok(entry.value)
    deadline = time.monotonic() + (WAIT_WITH_STALE_SECONDS if can_serve_stale else WAIT_SECONDS)
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        latest = cache.get(keys.value)
        if latest is not None and latest.stored_at > seen:
            return _keep_locally(keys.value, latest)
        if cache.get(keys.lock) is None:
            # The holder finished without a new answer: report what it ran into.
            error = cache.get(keys.error) or UpstreamError(
                "unavailable", "Trakt could not be reached."
            )
            return _stale_or_raise(entry, error, stale_ok)
    timeout = UpstreamError("timeout", "Trakt did not answer in time.")
    return _stale_or_raise(entry, timeout, stale_ok)


def _fresh(entry: Cached | None, fresh_for: float) -> bool:
    return entry is not None and time.time() - entry.stored_at < fresh_for


def _newer(shared: Cached | None, local: Cached | None) -> Cached | None:
    """The shared answer, or this process's own copy if the shared cache has lost it (or
    holds an older one, written while it was unreachable)."""
    if shared is None or (local is not None and local.stored_at > shared.stored_at):
        return local
    return shared


def _keep_locally(key: str, entry: Cached[T]) -> Cached[T]:
    caches["local"].set(key, entry, timeout=KEEP_LOCALLY_SECONDS)
    return entry


def _release(lock_key: str, token: str) -> None:
    if cache.get(lock_key) == token:
        cache.delete(lock_key)


def _refresh(
    keys, fetch, keep_for, fresh_for, kept, stale_ok, error_seconds, on_change=None
) -> Cached:
    try:
        value = fetch()
    except UpstreamError as error:
        cache.set(keys.error, error, timeout=error_seconds)
        return _stale_or_raise(kept, error, stale_ok)
    fresh = Cached(value, time.time())
    keep = keep_for(value)
    if keep > 0:
        # Kept past the window, to serve while the next refresh runs.
        keep = min(max(keep, fresh_for + REVALIDATE_SECONDS), KEEP_MAX_SECONDS)
        cache.set(keys.value, fresh, timeout=keep)
        if fresh_for > 0:
            _keep_locally(keys.value, fresh)
    else:
        cache.delete(keys.value)
        caches["local"].delete(keys.value)
    if on_change is not None:
        on_change(kept.value if kept is not None else None, value)
    return fresh


def _stale_or_raise(kept: Cached | None, error: UpstreamError, stale_ok) -> Cached:
    if kept is not None and stale_ok(kept.value):
        return Cached(kept.value, kept.stored_at, stale=True)
    raise error


def forget(*names: str) -> None:
    """Drop the kept answers (and remembered failures) of these `through_cache` names, when
    the credentials they were made with change. Another process's own copy of a fresh answer
    still lives out its freshness (`fresh_for`); after that it is never served again, not
    even while refreshing or marked stale (`_forgotten_since`)."""
    keys = [KEY + name + suffix for name in names for suffix in ("", ":error")]
    cache.delete_many(keys)
    caches["local"].delete_many(keys)
    now = time.time()
    cache.set_many({KEY + name + FORGOTTEN: now for name in names}, KEEP_LOCALLY_SECONDS)


FORGOTTEN = ":forgotten"


def _forgotten_since(key: str, local: Cached) -> bool:
    """Whether `forget()` dropped this answer after this process's copy was stored: read only
    when the shared cache has no answer (one more round trip, on a miss)."""
    mark = cache.get(key + FORGOTTEN)
    return mark is not None and local.stored_at <= mark


# --- Background refreshes ---------------------------------------------------------------------


class _Refresher:
    """This process's background refreshes: at most one per answer at a time, in a small
    pool of threads; across processes, the shared lock lets one of them ask upstream."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[str, Future] = {}
        self._tried_at: dict[str, float] = {}
        self._pool: ThreadPoolExecutor | None = None

    def start(self, name: str, job: Callable[[], bool]) -> None:
        with self._lock:
            if name in self._running:
                return
            if time.time() - self._tried_at.get(name, float("-inf")) < RETRY_REFRESH_SECONDS:
                return  # another process holds the lock: its answer is on its way
            if self._pool is None:
                # One thread per kind of answer (watching, profile, stats, last watched), so a
                # refresh stuck on a slow Trakt does not hold up the others.
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="refresh")
            self._running[name] = self._pool.submit(self._run, name, job)

    def _run(self, name: str, job: Callable[[], bool]) -> None:
        try:
            if not job():
                with self._lock:
                    self._tried_at[name] = time.time()
        except Exception:
            log.exception("refreshing %s failed", name)
        finally:
            with self._lock:
                self._running.pop(name, None)
            close_old_connections()  # this thread's database connection, if a job used one

    def wait(self, timeout: float) -> bool:
        """Wait for the refreshes under way (tests; a graceful stop). True if all ended."""
        with self._lock:
            running = list(self._running.values())
        done, not_done = wait_for_futures(running, timeout=timeout)
        with self._lock:
            self._tried_at.clear()
        return not not_done

    def after_fork(self) -> None:
        # A forked child has none of the parent's threads.
        self.__init__()


_refresher = _Refresher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_refresher.after_fork)


def wait_for_refreshes(timeout: float = 30) -> bool:
    """Wait until the background refreshes under way have ended (for tests)."""
    return _refresher.wait(timeout)


def in_background(name: str, job: Callable[[], object]) -> None:
    """Runs `job` (a call that fills the cache, such as `through_cache` with wait) in this
    process's refresh threads, unless a refresh of `name` is under way: for callers that
    must not wait on a cold cache, however many of them ask."""

    def run() -> bool:
        try:
            job()
        except UpstreamError:
            pass  # remembered under the answer's error key; the next callers see it
        return True

    _refresher.start(name, run)


def _revalidate_in_background(name, keys, fetch, fresh_for, keep_for, stale_ok, on_change):
    def job() -> bool:
        """True if this process held the lock (refreshed, successfully or not)."""
        token = uuid.uuid4().hex
        if not cache.add(keys.lock, token, timeout=LOCK_SECONDS):
            return False
        try:
            latest = cache.get(keys.value)
            if _fresh(latest, fresh_for):
                _keep_locally(keys.value, latest)
                return True
            error_seconds = min(ERROR_SECONDS, fresh_for)
            try:
                _refresh(
                    keys, fetch, keep_for, fresh_for, latest, stale_ok, error_seconds, on_change
                )
            except UpstreamError:
                pass  # remembered under keys.error; the next callers see it
            return True
        finally:
            _release(keys.lock, token)

    _refresher.start(name, job)


# --- TMDB -------------------------------------------------------------------------------------


def kept_a_day(name: str, fetch: Callable[[], T], failed: T) -> T:
    """An answer that hardly changes (TMDB's), kept 24 h. A failure is kept 5 min as
    `failed`, so a broken upstream is not asked on every refresh."""
    key = KEY + name
    kept = cache.get(key)
    if kept is not None:
        return kept
    try:
        value = fetch()
    except UpstreamError:
        cache.set(key, failed, timeout=TMDB_FAILURE_SECONDS)
        return failed
    cache.set(key, value, timeout=TMDB_SECONDS)
    return value
