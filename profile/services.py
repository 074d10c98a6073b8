"""What the views ask for: the watching answer, the profile, the stats, the last watched.

Every upstream answer goes through `profile.cache`, so the upstream cost does not grow
with traffic. The credentials every call uses come from `trakt_auth()` and `tmdb_auth()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connections

from profile import auth, jobs
from profile.cache import KEY as CACHE_KEY
from profile.cache import Cached, NotKept, in_background, kept_a_day, through_cache
from profile.client import (
    HistoryItem,
    ImageBytes,
    TmdbAuth,
    TmdbImages,
    TraktAuth,
    TraktProfile,
    TraktStats,
    TraktWatching,
    UpstreamError,
    tmdb,
    trakt,
)
from profile.watching import NowWatching, image_set, now_watching_from_trakt

log = logging.getLogger(__name__)

T = TypeVar("T")

PROFILE_SECONDS = 15 * 60
STATS_SECONDS = 15 * 60
LAST_WATCHED_SECONDS = 5 * 60
# The last good profile and stats are kept this long to show while Trakt is down.
KEEP_LAST_GOOD_SECONDS = 7 * 24 * 60 * 60
# The names of the Trakt answers kept in the cache (forgotten when the sign-in changes).
TRAKT_ANSWERS = ("watching", "profile", "stats", "last-watched", "ended")


def _now() -> datetime:
    return datetime.now(UTC)


# --- Credentials --------------------------------------------------------------------------------


def trakt_auth() -> tuple[TraktAuth, str]:
    """Whose credentials every Trakt call uses, and which user it asks about: the stored
    sign-in (renewed when due), else TRAKT_ACCESS_TOKEN, else the public TRAKT_USERNAME
    (`profile.auth.credentials()`). Prefer `auth.as_owner(call)`, which also renews the
    stored token once when Trakt answers 401 to it."""
    used = auth.credentials()
    return used.auth, used.user


def tmdb_auth() -> TmdbAuth:
    return TmdbAuth(settings.TMDB_READ_ACCESS_TOKEN or None, settings.TMDB_API_KEY or None)


def _from_trakt(call: Callable[[TraktAuth, str], T]) -> Callable[[], T]:
    """A fetch for the cache: `call` with the current credentials (renewed once on a 401)."""

    def fetch() -> T:
        return auth.as_owner(call)

    return fetch


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


def get_watching(*, wait: bool = True) -> WatchingAnswer:
    """The watching answer, reused for WATCHING_CACHE_SECONDS; stale if Trakt fails.

    A caller that waits (/api/watching, the card) gets Trakt's word on a play whose end time
    has passed: it is not served while refreshing. `wait=False` (the page and its live
    updates, which never wait on Trakt) gets NotKept on a cold cache, and such a play at once
    while it is refreshed: the page says "Finishing", which is true (Trakt still reported it
    when last asked), and looks again in a moment."""
    not_ended = _always if not wait else lambda value: value is None or not _has_ended(value)
    try:
        cached = through_cache(
            "watching",
            _fetch_watching,
            fresh_for=settings.WATCHING_CACHE_SECONDS,
            keep_for=_keep_watching_for,
            stale_ok=lambda value: value is not None and not _has_ended(value),
            revalidate_ok=not_ended,
            wait=wait,
        )
    except UpstreamError as error:
        return WatchingAnswer(None, error=error)
    return WatchingAnswer(cached.value, stale=cached.stale, age=cached.age)


def _always(value) -> bool:
    return True


def _has_ended(value: NowWatching) -> bool:
    return value.progress.expires <= _now()


def _keep_watching_for(value: NowWatching | None) -> float:
    if value is None:
        return settings.WATCHING_CACHE_SECONDS
    # Kept until it ends, to serve (marked stale) while Trakt is failing.
    until_end = (value.progress.expires - _now()).total_seconds()
    return max(until_end, settings.WATCHING_CACHE_SECONDS)


def _fetch_watching() -> NowWatching | None:
    playing = auth.as_owner(trakt.watching)
    # What plays changed: the history job syncs within a minute (what just ended shows up).
    jobs.note_watching(_what_plays(playing))
    answer = None if playing is None else now_watching_from_trakt(playing, _images_for(playing))
    _note_ended(answer)
    return answer


def _what_plays(playing: TraktWatching | None) -> str:
    if playing is None:
        return "idle"
    media = playing.movie if playing.type == "movie" else playing.episode
    return f"{playing.type}:{media.ids.trakt}:{playing.started_at}"


# --- What just ended -----------------------------------------------------------------------------

ENDED_KEY = CACHE_KEY + "ended"
ENDED_SECONDS = 24 * 60 * 60
# Trakt counts a scrobble watched once it reaches 80 % (a stop before that is a pause).
WATCHED_PERCENT = 80


@dataclass(frozen=True)
class Ended:
    """What played until the watching answer changed, when Trakt counts it watched: the
    page's "Last watched" names it at once, before the history (the mirror, Trakt's last
    watched entry) has it."""

    title: str
    subtitle: str | None
    started_at: datetime
    ended_at: datetime


def _note_ended(playing: NowWatching | None) -> None:
    """Called with each answer fetched from Trakt, before it replaces the kept one."""
    key = CACHE_KEY + "watching"
    kept = cache.get(key) or caches["local"].get(key)
    before = kept.value if kept is not None else None
    if before is None or (playing is not None and before.play == playing.play):
        return
    # Seen at 80 % or more when last asked: it went on to be watched (or it is a check-in,
    # which Trakt marks watched at its end). Seen short of that, it may have been stopped.
    if before.progress.percentage(datetime.fromtimestamp(kept.stored_at, UTC)) < WATCHED_PERCENT:
        return
    progress = before.progress
    ended = Ended(before.title, before.subtitle, progress.started, min(_now(), progress.expires))
    cache.set(ENDED_KEY, ended, timeout=ENDED_SECONDS)


def just_ended() -> Ended | None:
    """The last play that ended while the site watched (a day at most)."""
    return cache.get(ENDED_KEY)


def _images_for(playing: TraktWatching) -> dict[str, str]:
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
    name = "tmdb:" + ":".join(str(part) for part in what)
    if what[0] == "episode":
        return kept_a_day(name, lambda: tmdb.episode_images(tmdb_auth(), *what[1:]), TmdbImages())
    return kept_a_day(name, lambda: tmdb.images(tmdb_auth(), what[0], what[1]), TmdbImages())


# Inlined into every card; a w300 backdrop is some 20 KB, so anything far larger is refused.
CARD_IMAGE_MAX_BYTES = 300_000


def get_image_bytes(url: str) -> ImageBytes | None:
    """An image's bytes for inlining, cached like the TMDB answers; None when it failed."""
    return kept_a_day("tmdb:image:" + url, lambda: _small_image(url), b"") or None


def _small_image(url: str) -> ImageBytes:
    image = tmdb.image(url)
    if len(image.data) > CARD_IMAGE_MAX_BYTES:
        log.warning("TMDB image too large to inline: %s bytes", len(image.data))
        raise UpstreamError("bad_response", "The image is too large to inline.", service="tmdb")
    return image


# --- Profile, stats, last watched ---------------------------------------------------------------


def get_profile(*, wait: bool = True) -> Cached[TraktProfile]:
    """The Trakt profile, 15 min fresh; the last good one while Trakt fails."""
    return through_cache(
        "profile",
        _from_trakt(trakt.profile),
        fresh_for=PROFILE_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
        wait=wait,
    )


def get_stats(*, wait: bool = True) -> Cached[TraktStats]:
    """The Trakt stats, 15 min fresh; the last good ones while Trakt fails."""
    return through_cache(
        "stats",
        _from_trakt(trakt.stats),
        fresh_for=STATS_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
        wait=wait,
    )


def peek_profile() -> TraktProfile | None:
    """The profile if one is kept, without ever asking Trakt (the year pages' heading)."""
    kept = cache.get(CACHE_KEY + "profile")
    return kept.value if kept is not None else None


def get_last_watched(*, wait: bool = True) -> Cached[HistoryItem | None]:
    """The latest history entry, 5 min fresh."""
    return through_cache(
        "last-watched",
        _from_trakt(trakt.last_watched),
        fresh_for=LAST_WATCHED_SECONDS,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
        wait=wait,
    )


# --- The profile page ---------------------------------------------------------------------------

# Kept answers are read in the request's own thread. Only what is not kept at all (a cold
# cache) is asked for in parallel, and the page waits only this long for each; what is late
# is left out (the banner becomes a skeleton the page script fills in).
WATCHING_BUDGET_SECONDS = 1.0
PAGE_BUDGET_SECONDS = 1.5
# Shared by all requests of a worker: at most this many Trakt calls run for pages at once,
# and a call that outlives its page still finishes and fills the cache for the next one.
_page_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="page")
_PAGE_PARTS = {
    "watching": get_watching,
    "profile": get_profile,
    "stats": get_stats,
    "last_watched": get_last_watched,
}


def _in_page_thread(get: Callable[[], T]) -> T:
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


def get_page_data() -> PageData:
    """Profile, stats, last watched and the watching answer: what is kept at once, the rest
    within a small time budget."""
    started = time.monotonic()
    results: dict[str, Any] = {}
    errors: list[UpstreamError] = []
    jobs = {}
    for name, get in _PAGE_PARTS.items():
        try:
            results[name] = get(wait=False)
        except NotKept:
            jobs[name] = _page_pool.submit(_in_page_thread, get)
        except UpstreamError as error:
            results[name] = None
            errors.append(error)
    for name, job in jobs.items():
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
        signed_out=auth.is_signed_out(),
        ended=just_ended(),
    )


# --- The page's live parts ----------------------------------------------------------------------


@dataclass(frozen=True)
class LiveData:
    """What the page's live parts show (/live): never waited for, only read where it is kept."""

    watching: WatchingAnswer | None  # None: not kept yet, asked for in the background
    profile: TraktProfile | None
    last_watched: HistoryItem | None
    ended: Ended | None


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
    )
