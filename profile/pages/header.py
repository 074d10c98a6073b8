"""The frame of the profile page: who it is about, what Trakt counts for them, how a link
preview reads, and why something is missing when Trakt is not answering."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from profile import formatting
from profile.client import TraktProfile, TraktStats, UpstreamError
from profile.live.answers import peek_profile
from profile.live.avatar import on_site
from profile.live.watching import NowWatching

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
        "url": None if settings.DEMO_MODE else profile.trakt_url,
        # From the site's own address (/avatar), whatever host Trakt named: the CSP allows no other.
        "avatar": on_site(profile),
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
        # Distinct titles watched (Trakt's `watched`), as the labels say; plays are above.
        "tiles": [
            ("Movies watched", group(stats.movies.watched), time(stats.movies.minutes)),
            ("Episodes watched", group(stats.episodes.watched), time(stats.episodes.minutes)),
            ("Shows watched", group(stats.shows.watched), None),
            ("Ratings given", group(stats.ratings.total), None),
        ],
    }


def open_graph(request, profile: dict[str, Any], playing: NowWatching | None) -> dict:
    """Link-preview tags: what plays now, else the person."""
    name = profile["name"]
    if playing is not None:
        what = playing.title + (f" ({playing.subtitle})" if playing.subtitle else "")
        title = f"Now watching: {what}"
        description = f"{name} is watching {what} right now, on Trakt."
        image = playing.images.get("backdrop") or profile.get("avatar")
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


def owner_name(profile: TraktProfile | None = None) -> str:
    """Whose site it is, as a page names them ("Alex Rivera"): from the profile if one is kept
    (the profile page keeps it a week), else the configured username ("" if neither is
    known). It never asks Trakt: these pages are the mirror's alone."""
    profile = profile or peek_profile()
    if profile is not None:
        return profile.name or profile.username or profile.ids.slug
    return settings.TRAKT_USERNAME or ""


def short_name(name: str) -> str:
    """The name a sentence uses: "Alex rated it 9" ("Alex Rivera" -> "Alex")."""
    return name.split()[0] if name.split() else "The owner"
