"""The answers the site shows live from Trakt: what plays now, the profile, the stats and the
last watched entry. Every one goes through `profile.live.cache`, so the upstream cost does not
grow with traffic.

Without a Trakt API app (settings.EXPORT_ONLY) nothing is asked of Trakt: the profile and
stats are the imported export's, the last watched entry is the mirror's newest play, and
nothing plays unless a media server says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from profile.client import HistoryItem, TraktAuth, TraktProfile, TraktStats, UpstreamError, trakt
from profile.client.schemas import parse_time
from profile.live import player, push
from profile.live.cache import KEY as CACHE_KEY
from profile.live.cache import Cached, NotKept, always, forget, in_background, through_cache
from profile.live.poll import fetch_watching
from profile.live.watching import NowWatching
from profile.mirror.queries import newest_play
from profile.mirror.snapshot import snapshot
from profile.signin.credentials import as_owner

T = TypeVar("T")

PROFILE_SECONDS = 15 * 60
STATS_SECONDS = 15 * 60
LAST_WATCHED_SECONDS = 5 * 60
# The last good profile and stats are kept this long to show while Trakt is down.
KEEP_LAST_GOOD_SECONDS = 7 * 24 * 60 * 60
# The names of the Trakt answers kept in the cache (forgotten when the sign-in changes).
TRAKT_ANSWERS = ("watching", "profile", "stats", "last-watched", "ended")


def forget_trakt_answers() -> None:
    """After signing in or out: the kept answers were made with other credentials."""
    forget(*TRAKT_ANSWERS)


def _from_trakt(call: Callable[[TraktAuth, str], T]) -> Callable[[], T]:
    """A fetch for the cache: `call` with the current credentials (renewed once on a 401)."""

    def fetch() -> T:
        return as_owner(call)

    return fetch


# --- Watching -------------------------------------------------------------------------------------


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


def get_watching(*, wait: bool = True) -> WatchingAnswer:
    """What plays, from two sources: the media server's webhooks (`player.py`) when a
    player speaks, else Trakt's poll (`trakt_watching`).

    A player's play wins (its position is the player's own, and it knows a pause), unless
    Trakt reports another title begun since the player last spoke (a check-in, another
    device). Trakt is still asked at its usual pace meanwhile. A play the player stopped
    is not brought back by Trakt's report of it, which lags behind."""
    kept = player.current()
    play = kept.playing(datetime.now(UTC))
    if play is None:
        return _unless_stopped(trakt_watching(wait=wait), kept.stopped)
    mine = player.as_watching(play)
    try:
        trakt = trakt_watching(wait=False)
    except NotKept:
        in_background("watching", lambda: trakt_watching())
        return WatchingAnswer(mine)
    other = trakt.watching
    if other is not None and not other.same_title(mine) and other.progress.started > play.at:
        return trakt
    return WatchingAnswer(mine)


def _unless_stopped(answer: WatchingAnswer, stopped: player.Stopped | None) -> WatchingAnswer:
    """Trakt's answer, but not the play a player stopped, as Trakt reported it before."""
    playing = answer.watching
    if stopped is None or playing is None or not playing.same_title(stopped.watching):
        return answer
    if playing.progress.started > stopped.at:
        return answer  # watched again since
    return WatchingAnswer(None, stale=answer.stale, age=answer.age)


def trakt_watching(*, wait: bool = True) -> WatchingAnswer:
    """Trakt's watching answer, reused for WATCHING_CACHE_SECONDS; stale if Trakt fails.

    A caller that waits (/api/watching, the card) gets Trakt's word on a play whose end time
    has passed: it is not served while refreshing. `wait=False` (the page and its live
    updates, which never wait on Trakt) gets NotKept on a cold cache, and such a play at once
    while it is refreshed: the page says "Finishing", which is true (Trakt still reported it
    when last asked), and looks again in a moment."""
    not_ended = always if not wait else lambda value: value is None or not _has_ended(value)
    try:
        cached = through_cache(
            "watching",
            fetch_watching,
            fresh_for=settings.WATCHING_CACHE_SECONDS,
            keep_for=_keep_watching_for,
            stale_ok=lambda value: value is not None and not _has_ended(value),
            revalidate_ok=not_ended,
            wait=wait,
            on_change=_trakt_changed,
        )
    except UpstreamError as error:
        return WatchingAnswer(None, error=error)
    return WatchingAnswer(cached.value, stale=cached.stale, age=cached.age)


def keep_trakt_fresh() -> None:
    """Read Trakt's watching answer as a page's poll would, never waiting: one past its reuse
    window is refreshed in the background (once across processes). The stream hubs call it
    while pages are open on them (stream.py): streaming pages poll only once a minute, and
    Trakt must still be asked at its usual pace, for a change to be pushed."""
    if settings.WATCHING_CACHE_SECONDS <= 0:
        return
    try:
        trakt_watching(wait=False)
    except NotKept:
        in_background("watching", lambda: trakt_watching())


def _trakt_changed(before: NowWatching | None, after: NowWatching | None) -> None:
    """A Trakt refresh stored a new answer: open pages hear of a change of what plays.
    Not with reuse off (WATCHING_CACHE_SECONDS=0): every request asks Trakt then, the push's
    rendering would too, and the pages' own polls see the change as soon."""
    if settings.WATCHING_CACHE_SECONDS <= 0:
        return
    if (before is None) != (after is None) or (
        before is not None and after is not None and before.play != after.play
    ):
        push.changed()


def _has_ended(value: NowWatching) -> bool:
    return value.progress.expires <= datetime.now(UTC)


def _keep_watching_for(value: NowWatching | None) -> float:
    if value is None:
        return settings.WATCHING_CACHE_SECONDS
    # Kept until it ends, to serve (marked stale) while Trakt is failing.
    until_end = (value.progress.expires - datetime.now(UTC)).total_seconds()
    return max(until_end, settings.WATCHING_CACHE_SECONDS)


# --- Profile, stats, last watched -----------------------------------------------------------------


def get_profile(*, wait: bool = True) -> Cached[TraktProfile]:
    """The Trakt profile, 15 min fresh; the last good one while Trakt fails."""
    if settings.EXPORT_ONLY:
        return _exported("profile")
    return _kept_a_week("profile", trakt.profile, PROFILE_SECONDS, wait)


def get_stats(*, wait: bool = True) -> Cached[TraktStats]:
    """The Trakt stats, 15 min fresh; the last good ones while Trakt fails."""
    if settings.EXPORT_ONLY:
        return _exported("stats")
    return _kept_a_week("stats", trakt.stats, STATS_SECONDS, wait)


def peek_profile() -> TraktProfile | None:
    """The profile if one is kept, without ever asking Trakt (the year pages' heading)."""
    return _peek("profile")


def peek_stats() -> TraktStats | None:
    """The stats if kept, without ever asking Trakt (the ratings drawn in /live's history)."""
    return _peek("stats")


def _peek(name: str):
    if settings.EXPORT_ONLY:
        kept = snapshot()
        return getattr(kept, name) if kept else None
    kept = cache.get(CACHE_KEY + name)
    return kept.value if kept is not None else None


def get_last_watched(*, wait: bool = True) -> Cached[HistoryItem | None]:
    """The latest history entry, 5 min fresh."""
    if settings.EXPORT_ONLY:
        newest = _from_database(newest_play)
        return Cached(newest, parse_time(newest.watched_at).timestamp() if newest else time.time())
    return _kept_a_week("last-watched", trakt.last_watched, LAST_WATCHED_SECONDS, wait)


NO_EXPORT = (
    "There is no Trakt API app (TRAKT_API_KEY) and no Trakt export imported yet: import "
    "yours with `manage.py import_trakt_export`."
)


def _exported(part: str) -> Cached:
    """The imported export's profile or stats, as of the export's date."""
    kept = _from_database(snapshot)
    value = getattr(kept, part, None) if kept else None
    if value is None:
        raise UpstreamError("not_configured", NO_EXPORT, retry_after=3600)
    return Cached(value, kept.data_as_of.timestamp())


def _from_database(read: Callable[[], T]) -> T:
    """What the mirror says in Trakt's place; a database that fails is an answer not at hand,
    as Trakt failing would be (the page says so; the API answers 503)."""
    try:
        return read()
    except DatabaseError:
        raise UpstreamError(
            "unavailable",
            "The site's database is not answering; try again in a moment.",
            retry_after=5,
        ) from None


def _kept_a_week(
    name: str, call: Callable[[TraktAuth, str], T], fresh_for: float, wait: bool
) -> Cached[T]:
    """A Trakt answer reused `fresh_for`, and the last good one kept to show while Trakt fails."""
    return through_cache(
        name,
        _from_trakt(call),
        fresh_for=fresh_for,
        keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
        wait=wait,
    )
