"""What just ended: the play the watching answer showed until it changed, when Trakt counts it
watched. The page's "Last watched" names it at once, before the history has it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache, caches

from profile.live.cache import KEY as CACHE_KEY
from profile.live.watching import NowWatching

ENDED_KEY = CACHE_KEY + "ended"
ENDED_SECONDS = 24 * 60 * 60
# Trakt counts a scrobble watched once it reaches 80 % (a stop before that is a pause).
WATCHED_PERCENT = 80
WATCHING_KEY = CACHE_KEY + "watching"


@dataclass(frozen=True)
class Ended:
    """What played until the watching answer changed, when Trakt counts it watched: the
    page's "Last watched" names it at once, before the history (the mirror, Trakt's last
    watched entry) has it."""

    title: str
    subtitle: str | None
    started_at: datetime
    ended_at: datetime
    # Which movie or show (for its page): "movie" or "show", and its Trakt id.
    kind: str = ""
    trakt_id: int | None = None


def note_ended(playing: NowWatching | None) -> None:
    """Called with each answer fetched from Trakt, before it replaces the kept one."""
    kept = cache.get(WATCHING_KEY) or caches["local"].get(WATCHING_KEY)
    before = kept.value if kept is not None else None
    if before is None or (playing is not None and before.play == playing.play):
        return
    # Seen at 80 % or more when last asked: it went on to be watched (or it is a check-in,
    # which Trakt marks watched at its end). Seen short of that, it may have been stopped.
    if before.progress.percentage(datetime.fromtimestamp(kept.stored_at, UTC)) < WATCHED_PERCENT:
        return
    remember(before, min(datetime.now(UTC), before.progress.expires))


def remember(played: NowWatching, ended_at: datetime) -> None:
    """`played` ended at `ended_at`, watched: "Last watched" names it at once."""
    ended = Ended(
        played.title,
        played.subtitle,
        played.progress.started,
        ended_at,
        "movie" if played.type == "movie" else "show",
        played.ids.trakt,
    )
    cache.set(ENDED_KEY, ended, timeout=ENDED_SECONDS)


def just_ended() -> Ended | None:
    """The last play that ended while the site watched (a day at most)."""
    return cache.get(ENDED_KEY)
