"""The page's live parts: the Now Watching banner, "Last watched", the tab's title, what a
screen reader hears, and when the page asks again. One set of rules for the page and for
/live, which render them with the same partials (templates/profile/_banner.html and friends);
everything here is read from the typed watching value, never from the public JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError

from profile import formatting
from profile.client import HistoryItem
from profile.live.answers import WatchingAnswer
from profile.live.ended import Ended
from profile.live.friends import FriendPlay, together
from profile.live.watching import NowWatching, history_lines
from profile.mirror.state import Mirror
from profile.mirror.titles import page_of

# How soon the page asks /live again, by what it shows: a new play shows within 30 s (the
# reuse window, then at most one poll), a play past its end is checked every 10 s, and an
# answer being refreshed (or fetched for the first time) is looked at again once it should
# have landed. While Trakt fails there is nothing new to show sooner than once a minute (or
# than its rate limit's Retry-After, up to 10 minutes).
POLL_SECONDS = 15
FINISHING_POLL_SECONDS = 10
SOON_POLL_SECONDS = 2
TROUBLE_POLL_SECONDS = 60
MAX_POLL_SECONDS = 10 * 60
PAGE_KEY = "nowwatching:v1:title-page:"


def live_parts(
    watching: WatchingAnswer | None,
    profile: dict[str, Any],
    last_watched_item: HistoryItem | None,
    ended: Ended | None,
    mirror: Mirror | None,
    now: datetime,
    friends: list[FriendPlay] = (),
) -> dict[str, Any]:
    """The page's live parts at `now`. `watching` None: not at hand yet; `mirror` None: the
    mirror's state could not be read; `friends`: the friends watching now."""
    playing = watching.watching if watching is not None else None
    # The script swaps a banner for another title's whole (and announces it), and only the
    # parts that changed of the same title's.
    shown = banner(playing, now) if playing is not None else None
    with_me = together(playing, list(friends))
    if shown is not None:
        names = formatting.joined([f"@{slug}" for slug in with_me])
        shown["with"] = f"watching with {names}" if with_me else ""
        kind = "movie" if playing.type == "movie" else "show"
        shown["page"] = title_page(mirror, kind, playing.ids.trakt)
    line = None
    if watching is not None and shown is None:
        line = last_watched_line(mirror, last_watched_item, ended, now)
    if watching is None:
        announce = ""  # the skeleton: nothing is known yet
    elif shown is not None:
        announce = f"Now watching {shown['title']}"
    else:
        announce = "" if watching.error else "Nothing playing now"
    return {
        "playing": playing,
        "pending": watching is None,
        "banner": shown,
        "last_watched": line,
        "profile": profile,
        "announce": announce,
        "poll_seconds": poll_seconds(watching, shown),
        "friends": [friend_line(play, now) for play in friends if play.slug not in with_me],
    }


def friend_line(play: FriendPlay, now: datetime) -> dict[str, Any]:
    """One friend in the strip: "@sam, Dune: Part Two, 40 %"."""
    shown = play.watching
    title = f"{shown.title} {shown.subtitle}" if shown.subtitle else shown.title
    return {
        "slug": play.slug,
        "url": f"https://trakt.tv/users/{play.slug}",
        "title": title,
        "percentage": shown.progress.percentage(now),
    }


def poll_seconds(watching: WatchingAnswer | None, shown: dict | None) -> int:
    if watching is None:
        return SOON_POLL_SECONDS
    if watching.error is not None or watching.stale:
        retry_after = watching.error.retry_after if watching.error else None
        return min(max(TROUBLE_POLL_SECONDS, retry_after or 0), MAX_POLL_SECONDS)
    if 0 < settings.WATCHING_CACHE_SECONDS <= watching.age:
        return SOON_POLL_SECONDS  # served while one refresh asks Trakt
    if shown is not None and shown["finishing"]:
        return FINISHING_POLL_SECONDS
    return POLL_SECONDS


def banner(playing: NowWatching, now: datetime) -> dict[str, Any]:
    """The banner partial's values: what plays, at `now`."""
    progress = playing.progress
    duration = progress.duration_seconds
    elapsed = progress.elapsed_seconds(now)
    state = playing.state(now)
    images = playing.images
    thumb = images.get("still") or images.get("poster")
    if images.get("still"):
        thumb_alt = f"Still from {playing.title} {playing.subtitle or ''}".strip()
    else:
        thumb_alt = f"Poster of {playing.title}"
    finishing = state == "finishing"
    if state == "paused":
        label = formatting.paused_for((now - progress.paused).total_seconds())
    else:
        label = "Checked in" if playing.is_checkin else "Now Watching"
    return {
        "play": playing.play,
        # Past its end time while Trakt still reports it (the script also says so the moment
        # the end time passes on the page, before asking).
        "finishing": finishing,
        # A player says it is paused: the bar stands still (the script too), the label says
        # for how long.
        "paused": state == "paused",
        "label": label,
        "title": playing.title,
        "subtitle": playing.subtitle,
        "meta": " · ".join(
            part
            for part in (
                str(playing.year) if playing.year else None,
                "Movie" if playing.type == "movie" else "TV",
                None
                if playing.source == "trakt"
                else f"on {formatting.source_name(playing.source)}",
            )
            if part
        ),
        "started_at": progress.started_at,
        "expires_at": progress.expires_at,
        "paused_at": progress.paused_at or "",
        "percentage": progress.percentage(now),
        # In whole minutes: the page refreshes them with every poll (every 15 s), while the
        # script moves the bar every second.
        "elapsed": formatting.watch_time(elapsed // 60),
        "total": formatting.watch_time(duration // 60),
        "start_clock": formatting.local_clock(progress.started),
        "end_clock": formatting.local_clock(progress.expires),
        # Past the end, no "0 min left": the label says "Finishing" instead.
        "left": "" if finishing else formatting.time_left(progress.remaining_seconds(now)),
        "backdrop": images.get("backdrop"),
        "backdrop_medium": images.get("backdrop_medium"),
        "backdrop_small": images.get("backdrop_small"),
        "thumb": thumb,
        "thumb_alt": thumb_alt,
        "thumb_is_poster": thumb is not None and "still" not in images,
        "links": playing.links,
        "page": None,  # live_parts() adds it: its page on this site
    }


PAGE_SECONDS = 10 * 60


def title_page(mirror: Mirror | None, kind: str, trakt_id: int | None) -> str | None:
    """The page of a movie or show (`kind`) on this site, when the history holds it (not
    yet, on its first play): read once per mirror version by each process and kept in its
    own memory, so a warm page asks neither the database nor the shared cache."""
    if mirror is None or trakt_id is None:
        return None
    key = f"{PAGE_KEY}{mirror.version}:{kind}:{trakt_id}"
    local = caches["local"]
    found = local.get(key)
    if found is None:
        try:
            found = page_of(kind, trakt_id) or ""
        except DatabaseError:  # the page and /live go on without the link
            return None
        local.set(key, found, PAGE_SECONDS)
    return found or None


def last_watched_line(
    mirror: Mirror | None,
    kept: HistoryItem | None,
    ended: Ended | None,
    now: datetime,
) -> dict | None:
    """The line shown when nothing plays: what was watched last. What just ended is named
    at once, until the history has it; the mirror's poster row below says the rest, so then
    nothing; without plays mirrored, Trakt's last history entry."""
    if ended is not None:
        newest = mirror.newest if mirror is not None else None
        if newest is None and kept is not None:
            newest = datetime.fromisoformat(kept.watched_at)
        if newest is None or newest < ended.started_at:
            title = f"{ended.title} {ended.subtitle}" if ended.subtitle else ended.title
            return {
                "title": title,
                "when": formatting.ago(ended.ended_at, now),
                "at": ended.ended_at.isoformat(),
                "url": title_page(mirror, ended.kind, ended.trakt_id) if ended.kind else None,
            }
    if mirror is not None and mirror.plays:
        return None
    return last_watched(kept, now, mirror)


def last_watched(
    item: HistoryItem | None, now: datetime, mirror: Mirror | None = None
) -> dict[str, str] | None:
    if item is None:
        return None
    title, subtitle, _ = history_lines(item)
    if subtitle:
        title = f"{title} {subtitle}"
    watched = datetime.fromisoformat(item.watched_at)
    media = item.movie if item.type == "movie" else item.show
    return {
        "title": title,
        "when": formatting.ago(watched, now),
        "at": item.watched_at,
        "url": title_page(mirror, "movie" if item.type == "movie" else "show", media.ids.trakt),
    }
