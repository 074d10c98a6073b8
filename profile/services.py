"""What the views ask for: the watching answer, the profile, the stats, the last watched.

Every Trakt answer goes through `_through_cache()`, so the upstream cost does not grow with
traffic: a fresh answer is reused; when it is old, exactly one caller (across threads,
processes and machines sharing the cache) asks Trakt while the others wait for its result;
and when Trakt fails, the last good answer is served while it still makes sense.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache, caches

from profile import client
from profile.client import ImageBytes, TmdbImages, TraktProfile, TraktStats, UpstreamError
from profile.watching import NowWatching, image_set, now_watching_from_trakt

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY = "nowwatching:v1:"
PROFILE_SECONDS = 15 * 60
STATS_SECONDS = 15 * 60
LAST_WATCHED_SECONDS = 5 * 60
TMDB_SECONDS = 24 * 60 * 60
TMDB_FAILURE_SECONDS = 5 * 60
# The last good profile and stats are kept this long to show while Trakt is down.
KEEP_LAST_GOOD_SECONDS = 7 * 24 * 60 * 60
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


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    stored_at: float  # time.time() when it came from Trakt
    stale: bool = False

    @property
    def age(self) -> int:
        return max(0, int(time.time() - self.stored_at))


def _through_cache(
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
    for a few seconds instead of asking Trakt again. Raises UpstreamError when Trakt fails
    and no kept value passes `stale_ok`.
    """
    key, lock_key, error_key = KEY + name, KEY + name + ":lock", KEY + name + ":error"
    if fresh_for <= 0:
        # Reuse is off: every caller asks Trakt, but a good answer is still kept for errors.
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


def _now() -> datetime:
    return datetime.now(UTC)


# --- Watching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchingAnswer:
    """What /api/watching, the page and the card show: content, or nothing, or an error."""

    watching: NowWatching | None
    error: UpstreamError | None = None
    stale: bool = False
    age: int = 0

    @property
    def http_status(self) -> int:
        return self.error.http_status if self.error else 200

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"isWatching": self.watching is not None}
        if self.watching is not None:
            body["content"] = self.watching.as_json(now or _now())
        if self.error is not None:
            body["error"] = self.error.as_json()
        if self.stale:
            body["stale"] = True
        if settings.DEMO_MODE:
            body["demo"] = True
        return body


def get_watching() -> WatchingAnswer:
    """The watching answer, reused for WATCHING_CACHE_SECONDS; stale if Trakt fails."""
    try:
        cached = _through_cache(
            "watching",
            _fetch_watching,
            fresh_for=settings.WATCHING_CACHE_SECONDS,
            keep_for=_keep_watching_for,
            stale_ok=lambda value: value is not None and value.progress.expires > _now(),
        )
    except UpstreamError as error:
        return WatchingAnswer(None, error=error)
    return WatchingAnswer(cached.value, stale=cached.stale, age=cached.age)


def _keep_watching_for(value: NowWatching | None) -> float:
    if value is None:
        return settings.WATCHING_CACHE_SECONDS
    # Kept until it ends, to serve (marked stale) while Trakt is failing.
    until_end = (value.progress.expires - _now()).total_seconds()
    return max(until_end, settings.WATCHING_CACHE_SECONDS)


def _fetch_watching() -> NowWatching | None:
    playing = client.trakt_watching()
    if playing is None:
        return None
    return now_watching_from_trakt(playing, _images_for(playing))


def _images_for(playing: client.TraktWatching) -> dict[str, str]:
    """TMDB artwork; TMDB failing or missing ids only cost the images."""
    if playing.type == "movie":
        if playing.movie.ids.tmdb is None:
            return {}
        return image_set(_tmdb_cached(("movie", playing.movie.ids.tmdb)))
    show_id = playing.show.ids.tmdb
    if show_id is None:
        return {}
    season, number = playing.episode.season, playing.episode.number
    return image_set(
        _tmdb_cached(("tv", show_id)),
        _tmdb_cached(("episode", show_id, season, number)),
    )


def _tmdb_cached(what: tuple) -> TmdbImages:
    key = KEY + "tmdb:" + ":".join(str(part) for part in what)
    if what[0] == "episode":
        return _kept_a_day(key, lambda: client.tmdb_episode_images(*what[1:]), TmdbImages())
    return _kept_a_day(key, lambda: client.tmdb_images(what[0], what[1]), TmdbImages())


def _kept_a_day(key: str, fetch: Callable[[], T], failed: T) -> T:
    """A TMDB answer, kept 24 h. A failure is kept 5 min as `failed`, so a broken TMDB is
    not asked on every refresh (and TMDB failing only ever costs the images)."""
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


# Inlined into every card; a w300 backdrop is some 20 KB, so anything far larger is refused.
CARD_IMAGE_MAX_BYTES = 300_000


def get_image_bytes(url: str) -> ImageBytes | None:
    """An image's bytes for inlining, cached like the TMDB answers; None when it failed."""
    return _kept_a_day(KEY + "tmdb:image:" + url, lambda: _small_image(url), b"") or None


def _small_image(url: str) -> ImageBytes:
    image = client.tmdb_image(url)
    if len(image.data) > CARD_IMAGE_MAX_BYTES:
        log.warning("TMDB image too large to inline: %s bytes", len(image.data))
        raise UpstreamError("bad_response", "The image is too large to inline.", service="tmdb")
    return image


# --- Profile, stats, last watched ---------------------------------------------------------------


def get_profile() -> Cached[TraktProfile]:
    """The Trakt profile, 15 min fresh; the last good one while Trakt fails."""
    return _through_cache(
        "profile",
        client.trakt_profile,
        fresh_for=PROFILE_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
    )


def get_stats() -> Cached[TraktStats]:
    """The Trakt stats, 15 min fresh; the last good ones while Trakt fails."""
    return _through_cache(
        "stats",
        client.trakt_stats,
        fresh_for=STATS_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
    )


def get_last_watched() -> Cached[client.HistoryItem | None]:
    """The latest history entry, 5 min fresh."""
    return _through_cache(
        "last-watched",
        client.trakt_last_watched,
        fresh_for=LAST_WATCHED_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
    )


# --- The profile page ---------------------------------------------------------------------------

# The page asks Trakt in parallel and waits only this long for each answer; what is late is
# left out (the banner becomes a skeleton the page script fills in) rather than slowing the page.
WATCHING_BUDGET_SECONDS = 1.0
PAGE_BUDGET_SECONDS = 1.5
# Shared by all requests of a worker: at most this many Trakt calls run for pages at once,
# and a call that outlives its page still finishes and fills the cache for the next one.
_page_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="page")


@dataclass(frozen=True)
class PageData:
    """What the home page shows; None where Trakt gave nothing in time or nothing at all."""

    watching: WatchingAnswer | None  # None: not at hand within the budget
    profile: Cached[TraktProfile] | None
    stats: Cached[TraktStats] | None
    last_watched: Cached[client.HistoryItem | None] | None


def get_page_data() -> PageData:
    """Profile, stats, last watched and the watching answer, within a small time budget."""
    started = time.monotonic()
    jobs = {
        "watching": _page_pool.submit(get_watching),
        "profile": _page_pool.submit(get_profile),
        "stats": _page_pool.submit(get_stats),
        "last_watched": _page_pool.submit(get_last_watched),
    }
    results: dict[str, Any] = {}
    for name, job in jobs.items():
        budget = WATCHING_BUDGET_SECONDS if name == "watching" else PAGE_BUDGET_SECONDS
        try:
            results[name] = job.result(timeout=max(0.0, started + budget - time.monotonic()))
        except FutureTimeout:
            log.info("page: %s not at hand within %s s", name, budget)
            results[name] = None
        except UpstreamError:
            results[name] = None
    return PageData(**results)
