"""The HTML pages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from html import unescape
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject

from profile import formatting, history, services
from profile.client import HistoryItem, TraktProfile, TraktStats, UpstreamError
from profile.decorators import html_page, json_endpoint
from profile.watching import history_lines

log = logging.getLogger(__name__)


@html_page
def home(request):
    """The profile page. It never waits long on Trakt (what is late is filled in by the
    script) and never on the history sync: the history comes from the mirror as it is."""
    data = services.get_page_data()
    now = datetime.now(UTC)
    profile = data.profile.value if data.profile else None
    trakt_stats = data.stats.value if data.stats else None
    trouble = trakt_trouble(data.error)
    mirror = history.home(now, trouble if data.error else "")
    header = profile_header(profile, trakt_stats)
    kept = data.last_watched.value if data.last_watched else None
    live = live_parts(data.watching, header, kept, data.ended, mirror, now)
    # Drawn inside the cached sections: only when they are rendered again.
    ratings = SimpleLazyObject(lambda: history.ratings_distribution(trakt_stats))
    context = live | {
        "profile": header,
        "stats": stats_tiles(trakt_stats) if trakt_stats else None,
        "stats_stale": bool(data.stats and data.stats.stale),
        "history": mirror,
        "ratings_chart": ratings,
        # Everything below the banner changes with the mirror or Trakt's stats, and "2 h ago"
        # with time: rendered at most once every 30 s (templates/profile/home.html).
        "history_key": mirror.cache_key(
            trakt_stats, bool(data.stats and data.stats.stale), trouble
        ),
        "trakt_trouble": trouble,
        "signed_out": data.signed_out,
    }
    context["og"] = open_graph(request, header, live["content"])
    return render(request, "profile/home.html", context)


# The page's live parts: what /live answers, each rendered from the partial the page
# includes (static/js/profile.js swaps them in), by the name of its data-fragment.
LIVE_FRAGMENTS = {
    "banner": "profile/_banner_slot.html",
    "last-watched": "profile/_last_watched.html",
    "recent": "profile/_recent.html",
}
RECENT_SECONDS = 30


@json_endpoint()
def live(request):
    """/live: the page's live parts as the page would render them now, for the page's
    script (not an API: its shape is the page's). Never waits on Trakt; an unchanged
    answer is a 304 (ConditionalGetMiddleware compares the ETag)."""
    data = services.get_live_data()
    now = datetime.now(UTC)
    error = data.watching.error if data.watching else None
    trouble = trakt_trouble(error) if error else ""
    mirror = history.home(now, trouble)
    context = live_parts(
        data.watching, profile_header(data.profile), data.last_watched, data.ended, mirror, now
    )
    context["history"] = mirror
    fragments = {
        name: render_to_string(template, context, request).strip()
        for name, template in LIVE_FRAGMENTS.items()
        if name != "recent"
    }
    # The posters change with the mirror, their "2 h ago" with time: like the page's
    # sections, rendered again at most every 30 s (the most costly fragment by far).
    fragments["recent"] = caches["local"].get_or_set(
        f"nowwatching:v1:live-recent:{mirror.cache_key(trouble)}",
        lambda: render_to_string(LIVE_FRAGMENTS["recent"], context, request).strip(),
        RECENT_SECONDS,
    )
    body = {
        # Plain text for document.title: the partial escapes, as the page's <title> needs.
        "title": unescape(render_to_string("profile/_title.html", context, request)).strip(),
        "announce": context["announce"],
        "poll_seconds": context["poll_seconds"],
        "fragments": fragments,
    }
    response = JsonResponse(body)
    # Kept by nobody but the page's script, which revalidates with the ETag each time.
    patch_cache_control(response, no_cache=True)
    return response


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


def live_parts(
    watching: services.WatchingAnswer | None,
    profile: dict[str, Any],
    last_watched_item: HistoryItem | None,
    ended: services.Ended | None,
    mirror: history.HomeHistory,
    now: datetime,
) -> dict[str, Any]:
    """The page's live parts (the banner, "Last watched", the tab's title, what a screen
    reader hears) and when to look again: one set of rules for the page and for /live,
    which render them with the same partials. `watching` None: not at hand yet."""
    content = None
    if watching is not None and watching.watching is not None:
        content = watching.watching.as_json(now)
    shown = None
    if content:
        # The script swaps a banner for another title's whole (and announces it), and only
        # the parts that changed of the same title's.
        shown = banner(content, now) | {"play": watching.watching.play}
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
        "content": content,
        "pending": watching is None,
        "banner": shown,
        "last_watched": line,
        "profile": profile,
        "announce": announce,
        "poll_seconds": poll_seconds(watching, shown),
    }


def poll_seconds(watching: services.WatchingAnswer | None, shown: dict | None) -> int:
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


@html_page
def year_in_review(request, yyyy: int):
    """/year/<yyyy>: one year of the mirror; 404 for a year without plays."""
    # The owner's name if the profile is at hand: this page never waits on Trakt for it.
    profile = services.peek_profile()
    name = (profile.name or profile.username) if profile else settings.TRAKT_USERNAME or None
    try:
        page = history.year(yyyy)
        if page is None:
            context = {"year": yyyy, "name": name, "years": history.years()}
            return render(request, "profile/year_missing.html", context, status=404)
    except DatabaseError:
        log.warning("year in review: the database could not be read")
        context = {"year": yyyy, "name": name, "unavailable": True}
        return render(request, "profile/year_missing.html", context, status=503)
    return render(request, "profile/year.html", {"page": page, "name": name})


def banner(content: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The banner partial's values, from the watching answer's JSON at `now`."""
    progress = content["progress"]
    started = datetime.fromisoformat(progress["started_at"])
    expires = datetime.fromisoformat(progress["expires_at"])
    duration = progress["duration_seconds"]
    elapsed = min(duration, max(0, int((now - started).total_seconds())))
    images = content["images"]
    thumb = images.get("still") or images.get("poster")
    if images.get("still"):
        thumb_alt = f"Still from {content['title']} {content.get('subtitle', '')}".strip()
    else:
        thumb_alt = f"Poster of {content['title']}"
    return {
        # Past its end time while Trakt still reports it (the script also says so the moment
        # the end time passes on the page, before asking).
        "finishing": now >= expires,
        "label": "Checked in" if content["action"] == "checkin" else "Now Watching",
        "title": content["title"],
        "subtitle": content.get("subtitle"),
        "meta": " · ".join(
            part
            for part in (
                str(content["year"]) if content["year"] else None,
                "Movie" if content["type"] == "movie" else "TV",
            )
            if part
        ),
        "started_at": progress["started_at"],
        "expires_at": progress["expires_at"],
        "percentage": progress["percentage"],
        # In whole minutes: the page refreshes them with every poll (every 15 s), while the
        # script moves the bar every second.
        "elapsed": formatting.watch_time(elapsed // 60),
        "total": formatting.watch_time(duration // 60),
        "start_clock": formatting.local_clock(started),
        "end_clock": formatting.local_clock(expires),
        # Past the end, no "0 min left": the label says "Finishing" instead.
        "left": "" if now >= expires else formatting.time_left(progress["remaining_seconds"]),
        "backdrop": images.get("backdrop"),
        "backdrop_medium": images.get("backdrop_medium"),
        "backdrop_small": images.get("backdrop_small"),
        "thumb": thumb,
        "thumb_alt": thumb_alt,
        "thumb_is_poster": thumb is not None and "still" not in images,
        "links": content["links"],
    }


# What a visitor reads where Trakt's data is missing, by the error's code.
TROUBLE = {
    "timeout": "Trakt did not answer in time. This fills in when it does.",
    "unavailable": "Trakt did not answer. This fills in when it does.",
    "bad_response": "Trakt did not answer as expected. This fills in when it does.",
    "rate_limited": "Trakt's rate limit was reached. This fills in when it resets.",
}


def trakt_trouble(error: UpstreamError | None) -> str:
    """Why Trakt's data is missing, truthfully: a site that is not set up yet is not Trakt
    being down. The other refusals say what the owner has to fix (never a secret)."""
    if error is None:  # not at hand within the page's time budget
        return "Trakt is slow to answer. This fills in when it does."
    if error.code == "not_configured":
        return f"This site is not set up yet. {error.message}"
    return TROUBLE.get(error.code, error.message)


def profile_header(profile: TraktProfile | None, trakt_stats: TraktStats | None = None) -> dict:
    if profile is None:
        # Trakt failed and nothing good is kept: the configured name still says whose page it is.
        name = settings.TRAKT_USERNAME or "Trakt profile"
        return {"name": name, "initials": formatting.initials(name), "missing": True}
    name = profile.name or profile.username or profile.ids.slug  # a username may be ""
    joined = None
    if profile.joined_at:
        joined = formatting.month_year(datetime.fromisoformat(profile.joined_at))
    return {
        "name": name,
        "username": profile.username,
        # The demo's user is made up: its name is no link to whoever has it on Trakt.
        "url": None if settings.DEMO_MODE else f"https://trakt.tv/users/{profile.ids.slug}",
        "avatar": profile.avatar_url,
        "initials": formatting.initials(name),
        "vip": bool(profile.vip or profile.vip_ep),
        "location": profile.location,
        "joined": joined,
        "about": profile.about,
        "followers": trakt_stats.network.followers if trakt_stats else None,
        "following": trakt_stats.network.following if trakt_stats else None,
    }


def stats_tiles(stats: TraktStats) -> dict[str, Any]:
    """The figures Trakt keeps for the whole account: one that leads, four beside it."""
    group, time = formatting.grouped, formatting.watch_time
    return {
        "lead": ("Total time", time(stats.movies.minutes + stats.episodes.minutes)),
        "plays": group(stats.movies.plays + stats.episodes.plays),
        "tiles": [
            ("Movies", group(stats.movies.watched), time(stats.movies.minutes)),
            ("Episodes", group(stats.episodes.watched), time(stats.episodes.minutes)),
            ("Shows", group(stats.shows.watched), None),
            ("Ratings", group(stats.ratings.total), None),
        ],
    }


def last_watched_line(
    mirror: history.HomeHistory,
    kept: HistoryItem | None,
    ended: services.Ended | None,
    now: datetime,
) -> dict | None:
    """The line shown when nothing plays: what was watched last. What just ended is named
    at once, until the history has it; the mirror's poster row below says the rest, so then
    nothing; without plays mirrored, Trakt's last history entry."""
    if ended is not None:
        newest = mirror.newest
        if newest is None and kept is not None:
            newest = datetime.fromisoformat(kept.watched_at)
        if newest is None or newest < ended.started_at:
            title = f"{ended.title} {ended.subtitle}" if ended.subtitle else ended.title
            return {
                "title": title,
                "when": formatting.ago(ended.ended_at, now),
                "at": ended.ended_at.isoformat(),
            }
    if mirror.has_plays:
        return None
    return last_watched(kept, now)


def last_watched(item: HistoryItem | None, now: datetime) -> dict[str, str] | None:
    if item is None:
        return None
    title, subtitle, _ = history_lines(item)
    if subtitle:
        title = f"{title} {subtitle}"
    watched = datetime.fromisoformat(item.watched_at)
    return {"title": title, "when": formatting.ago(watched, now), "at": item.watched_at}


def open_graph(request, profile: dict[str, Any], content: dict[str, Any] | None) -> dict:
    """Link-preview tags: what plays now, else the person."""
    name = profile["name"]
    if content is not None:
        what = content["title"] + (f" ({content['subtitle']})" if content.get("subtitle") else "")
        title = f"Now watching: {what}"
        description = f"{name} is watching {what} right now, on Trakt."
        image = content["images"].get("backdrop") or profile.get("avatar")
    else:
        title = name
        description = profile.get("about") or f"{name}'s Trakt profile and watching stats."
        image = profile.get("avatar")
    return {
        "title": title,
        "description": description,
        "image": request.build_absolute_uri(image) if image else None,
        "url": request.build_absolute_uri(request.path),
    }


@html_page
def favicon(request):
    """/favicon.ico, which browsers, feed readers and a tab showing a JSON answer ask for
    whatever the page links: static/favicon.svg drawn at 32 px as a PNG (every browser takes
    a PNG under that name). Redraw it after changing the SVG, e.g. a Chromium screenshot of
    the SVG at 32 x 32 px with a transparent background."""
    response = HttpResponse(_favicon_png(), content_type="image/png")
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


@cache  # read once per process: the file only changes with a deploy
def _favicon_png() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon-32.png").read_bytes()
