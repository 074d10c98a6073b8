"""Reuse, single flight and stale-if-error for every upstream answer.

Every Trakt answer goes through `through_cache()`, so the upstream cost does not grow with
traffic: a fresh answer is reused; when it is old, exactly one caller (across threads,
processes and machines sharing the cache) asks Trakt while the others wait for its result;
and when Trakt fails, the last good answer is served while it still makes sense. TMDB
answers, which hardly ever change, are kept a day by `kept_a_day()`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.cache import cache, caches

from profile.client import UpstreamError

T = TypeVar("T")

KEY = "nowwatching:v1:"
# Longer than a slow fetch (Trakt, then two TMDB calls), so a live holder keeps its lock;
# short enough that a holder that died frees it soon. Only a fetch that runs into every
# timeout (about 30 s) outlives it, and then a second caller may fetch too: one extra call.
LOCK_SECONDS = 15
# How long a caller waits for another caller's fetch before giving up on it: briefly when
# a kept answer can be served instead, longer when there is nothing else to show.
WAIT_WITH_STALE_SECONDS = 1.0
WAIT_SECONDS = 12
POLL_SECONDS = 0.05
# After a failed fetch nobody asks Trakt again for this long (at most the reuse window):
# while Trakt is down, the calls it gets stay one per few seconds whatever the traffic.
ERROR_SECONDS = 5
KEEP_LOCALLY_SECONDS = 15 * 60
TMDB_SECONDS = 24 * 60 * 60
TMDB_FAILURE_SECONDS = 5 * 60


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    stored_at: float  # time.time() when it came from upstream
    stale: bool = False

    @property
    def age(self) -> int:
        return max(0, int(time.time() - self.stored_at))


def through_cache(
    name: str,
    fetch: Callable[[], T],
    *,
    fresh_for: float,
    keep_for: Callable[[T], float],
    stale_ok: Callable[[T], bool] = lambda value: True,
) -> Cached[T]:
    """The cached value while fresh; else one caller fetches and the others wait for it.

    Waiters give up after WAIT_WITH_STALE_SECONDS when a kept value passes `stale_ok`
    (it is served marked stale), after WAIT_SECONDS otherwise. A failed fetch is reused
    for a few seconds instead of asking upstream again. Raises UpstreamError when the fetch
    fails and no kept value passes `stale_ok`.
    """
    key, lock_key, error_key = KEY + name, KEY + name + ":lock", KEY + name + ":error"
    if fresh_for <= 0:
        # Reuse is off: every caller asks upstream, but a good answer is still kept for errors.
        entry = cache.get(key)
        return _refresh(key, error_key, fetch, keep_for, entry, stale_ok, ERROR_SECONDS)
    # This process's copy first: while fresh it is the shared answer, without a round trip.
    entry = caches["local"].get(key)
    if _fresh(entry, fresh_for):
        return entry
    entry = cache.get(key)
    if _fresh(entry, fresh_for):
        return _keep_locally(key, entry)
    recent_error = cache.get(error_key)
    if recent_error is not None:
        return _stale_or_raise(entry, recent_error, stale_ok)

    token = uuid.uuid4().hex
    if cache.add(lock_key, token, timeout=LOCK_SECONDS):
        try:
            # Someone may have stored a fresh answer between our get and our add.
            latest = cache.get(key)
            if _fresh(latest, fresh_for):
                return _keep_locally(key, latest)
            answer = _refresh(
                key, error_key, fetch, keep_for, latest, stale_ok, min(ERROR_SECONDS, fresh_for)
            )
            return answer if answer.stale else _keep_locally(key, answer)
        finally:
            if cache.get(lock_key) == token:
                cache.delete(lock_key)

    seen = entry.stored_at if entry is not None else 0.0
    can_serve_stale = entry is not None and stale_ok(entry.value)
    deadline = time.monotonic() + (WAIT_WITH_STALE_SECONDS if can_serve_stale else WAIT_SECONDS)
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        latest = cache.get(key)
        if latest is not None and latest.stored_at > seen:
            return _keep_locally(key, latest)
        if cache.get(lock_key) is None:
            # The holder finished without a new answer: report what it ran into.
            error = cache.get(error_key) or UpstreamError(
                "unavailable", "Trakt could not be reached."
            )
            return _stale_or_raise(entry, error, stale_ok)
    timeout = UpstreamError("timeout", "Trakt did not answer in time.")
    return _stale_or_raise(entry, timeout, stale_ok)


def _fresh(entry: Cached | None, fresh_for: float) -> bool:
    return entry is not None and time.time() - entry.stored_at < fresh_for


def _keep_locally(key: str, entry: Cached[T]) -> Cached[T]:
    # Read back only while `_fresh()`, so the timeout just bounds the memory it holds.
    caches["local"].set(key, entry, timeout=KEEP_LOCALLY_SECONDS)
    return entry


def _refresh(key, error_key, fetch, keep_for, kept, stale_ok, error_seconds) -> Cached:
    try:
        value = fetch()
    except UpstreamError as error:
        cache.set(error_key, error, timeout=error_seconds)
        return _stale_or_raise(kept, error, stale_ok)
    fresh = Cached(value, time.time())
    keep = keep_for(value)
    if keep > 0:
        cache.set(key, fresh, timeout=keep)
    else:
        cache.delete(key)
    return fresh


def _stale_or_raise(kept: Cached | None, error: UpstreamError, stale_ok) -> Cached:
    if kept is not None and stale_ok(kept.value):
        return Cached(kept.value, kept.stored_at, stale=True)
    raise error


def forget(*names: str) -> None:
    """Drop the kept answers (and remembered failures) of these `through_cache` names, when
    the credentials they were made with change. Another process's own copy of a fresh answer
    still lives out its freshness (`fresh_for`)."""
    keys = [KEY + name + suffix for name in names for suffix in ("", ":error")]
    cache.delete_many(keys)
    caches["local"].delete_many(keys)


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
