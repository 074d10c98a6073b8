"""What the profile page and its live updates read: the Trakt answers as kept, and what is not
kept yet within a small time budget (the page) or not at all (/live)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from profile.client import HistoryItem, TraktProfile, TraktStats, UpstreamError
from profile.live.answers import (
    WatchingAnswer,
    get_last_watched,
    get_profile,
    get_stats,
    get_watching,
    peek_profile,
    peek_stats,
)
from profile.live.cache import KEY as CACHE_KEY
from profile.live.cache import Cached, NotKept, in_background
from profile.live.ended import Ended, just_ended
from profile.live.friends import FriendPlay, watching_now
from profile.signin.storage import is_signed_out

log = logging.getLogger(__name__)

T = TypeVar("T")


# Kept answers are read in the request's own thread. Only what is not kept at all (a cold
# cache) is asked for in parallel, and the page waits only this long for each; what is late
# is left out (the banner becomes a skeleton the page script fills in).
WATCHING_BUDGET_SECONDS = 1.0


PAGE_BUDGET_SECONDS = 1.5


# Shared by all requests of a worker: at most this many Trakt calls run for pages at once,
# and a call that outlives its page still finishes and fills the cache for the next one.
_page_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="page")
_page_jobs: set[Future] = set()  # the calls under way, the ones past their page's budget too
_page_jobs_lock = threading.Lock()


_PAGE_PARTS = {
    "watching": get_watching,
    "profile": get_profile,
    "stats": get_stats,
    "last_watched": get_last_watched,
}


def _in_page_thread(get: Callable[[], T]) -> Future:
    job = _page_pool.submit(_page_job, get)
    with _page_jobs_lock:
        _page_jobs.add(job)
    job.add_done_callback(_forget_page_job)  # at once if it has already ended
    return job


def _forget_page_job(job: Future) -> None:
    with _page_jobs_lock:
        _page_jobs.discard(job)


def wait_for_page_parts(timeout: float = 30) -> bool:
    """Wait until the pages' calls under way have ended, those that outlived their page too
    (for tests: one would log with the next test's settings). True if all ended."""
    with _page_jobs_lock:
        running = list(_page_jobs)
    _, not_done = wait_for_futures(running, timeout=timeout)
    return not not_done


def _page_job(get: Callable[[], T]) -> T:
    try:
        return get()
    finally:
        # No request ends in this thread to close the database connection a fetch opened
        # (to read the sign-in): the job does, this thread's connections only.
        connections.close_all()


@dataclass(frozen=True)
class PageData:
    """What the home page shows; None where Trakt gave nothing in time or nothing at all."""

    watching: WatchingAnswer | None  # None: not at hand within the budget
    profile: Cached[TraktProfile] | None
    stats: Cached[TraktStats] | None
    last_watched: Cached[HistoryItem | None] | None
    # Why something is missing (the first failure), so the page can say why truthfully.
    error: UpstreamError | None = None
    signed_out: bool = False  # Trakt ended the owner's sign-in: the page says so, quietly
    ended: Ended | None = None  # what just ended (`just_ended()`)
    friends: list[FriendPlay] = field(default_factory=list)  # watching now (FRIENDS)


def get_page_data() -> PageData:
    """Profile, stats, last watched and the watching answer: what is kept at once, the rest
    within a small time budget."""
    started = time.monotonic()
    results: dict[str, Any] = {}
    errors: list[UpstreamError] = []
    pending = {}
    for name, get in _PAGE_PARTS.items():
        try:
            results[name] = get(wait=False)
        except NotKept:
            pending[name] = _in_page_thread(get)
        except UpstreamError as error:
            results[name] = None
            errors.append(error)
    for name, job in pending.items():
        budget = WATCHING_BUDGET_SECONDS if name == "watching" else PAGE_BUDGET_SECONDS
        try:
            results[name] = job.result(timeout=max(0.0, started + budget - time.monotonic()))
        except FutureTimeout:
            log.info("page: %s not at hand within %s s", name, budget)
            results[name] = None
        except UpstreamError as error:
            results[name] = None
            errors.append(error)
    if results["watching"] is not None and results["watching"].error is not None:
        errors.append(results["watching"].error)
    return PageData(
        **results,
        error=errors[0] if errors else None,
        signed_out=is_signed_out(),
        ended=just_ended(),
        friends=watching_now(datetime.now(UTC)),
    )


# --- The page's live parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveData:
    """What the page's live parts show (/live): never waited for, only read where it is kept."""

    watching: WatchingAnswer | None  # None: not kept yet, asked for in the background
    profile: TraktProfile | None
    last_watched: HistoryItem | None
    ended: Ended | None
    friends: list[FriendPlay] = field(default_factory=list)
    stats: TraktStats | None = None


def get_live_data() -> LiveData:
    """The watching answer as kept (a play past its end is served while it is refreshed),
    and the profile and the last watched entry if kept: an open page asks every few seconds,
    so nothing here waits on Trakt or asks it more often than the reuse window allows."""
    if settings.WATCHING_CACHE_SECONDS <= 0:
        # Reuse is off: every answer asks Trakt (the owner's choice; the seed's behaviour).
        watching = get_watching()
    else:
        try:
            watching = get_watching(wait=False)
        except NotKept:
            # A cold cache: one fetch per process fills it; the page looks again shortly.
            in_background("watching", lambda: get_watching())
            watching = None
    kept = cache.get(CACHE_KEY + "last-watched")
    return LiveData(
        watching=watching,
        profile=peek_profile(),
        last_watched=kept.value if kept is not None else None,
        ended=just_ended(),
        friends=watching_now(datetime.now(UTC)),
        stats=peek_stats(),
    )
