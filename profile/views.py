"""The HTML pages."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject

from profile import formatting, history, services
from profile.client import HistoryItem, TraktProfile, TraktStats, UpstreamError
from profile.decorators import html_page
from profile.watching import history_lines

log = logging.getLogger(__name__)


@html_page
def home(request):
    """The profile page. It never waits long on Trakt (what is late is filled in by the
    script) and never on the history sync: the history comes from the mirror as it is."""
    data = services.get_page_data()
    now = datetime.now(UTC)
    content = None
    if data.watching is not None and data.watching.watching is not None:
        content = data.watching.watching.as_json(now)
    profile = data.profile.value if data.profile else None
    trakt_stats = data.stats.value if data.stats else None
    trouble = trakt_trouble(data.error)
    mirror = history.home(now, trouble if data.error else "")
    # Drawn inside the cached sections: only when they are rendered again.
    ratings = SimpleLazyObject(lambda: history.ratings_distribution(trakt_stats))
    context = {
        "pending": data.watching is None,
        "banner": banner(content, now) if content else None,
        "profile": profile_header(profile, trakt_stats),
        "stats": stats_tiles(trakt_stats) if trakt_stats else None,
        "stats_stale": bool(data.stats and data.stats.stale),
        "last_watched": last_watched_line(mirror, data.last_watched, now),
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
    context["og"] = open_graph(request, context["profile"], content)
    return render(request, "profile/home.html", context)


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
    """The banner partial's values, from the same JSON the page script renders it from."""
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
        "elapsed": formatting.clock(elapsed),
        "total": formatting.clock(duration),
        "start_clock": formatting.local_clock(started),
        "end_clock": formatting.local_clock(expires),
        "left": formatting.time_left(progress["remaining_seconds"]),
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


def last_watched_line(mirror: history.HomeHistory, kept, now: datetime) -> dict | None:
    """The line shown when nothing plays: from the mirror when it has plays (the poster row
    below says the same, so then nothing), else from Trakt's last history entry."""
    if mirror.has_plays:
        return None
    return last_watched(kept.value if kept else None, now)


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
