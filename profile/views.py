"""The HTML pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.shortcuts import render

from profile import formatting, services
from profile.client import HistoryItem, TraktProfile, TraktStats
from profile.decorators import html_page
from profile.watching import history_lines


@html_page
def home(request):
    """The profile page. It never waits long on Trakt: what is late is filled in by the script."""
    data = services.get_page_data()
    now = datetime.now(UTC)
    content = None
    if data.watching is not None and data.watching.watching is not None:
        content = data.watching.watching.as_json(now)
    profile = data.profile.value if data.profile else None
    context = {
        "pending": data.watching is None,
        "banner": banner(content, now) if content else None,
        "profile": profile_header(profile),
        "stats": stats_rows(data.stats.value) if data.stats else None,
        "stats_stale": bool(data.stats and data.stats.stale),
        "last_watched": last_watched(data.last_watched.value if data.last_watched else None, now),
    }
    context["og"] = open_graph(request, context["profile"], content)
    return render(request, "profile/home.html", context)


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
        "left": formatting.minutes_left(progress["remaining_seconds"]),
        "backdrop": images.get("backdrop"),
        "backdrop_medium": images.get("backdrop_medium"),
        "backdrop_small": images.get("backdrop_small"),
        "thumb": thumb,
        "thumb_alt": thumb_alt,
        "thumb_is_poster": thumb is not None and "still" not in images,
        "links": content["links"],
    }


def profile_header(profile: TraktProfile | None) -> dict[str, Any]:
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
        "url": f"https://trakt.tv/users/{profile.ids.slug}",
        "avatar": profile.avatar_url,
        "initials": formatting.initials(name),
        "vip": bool(profile.vip or profile.vip_ep),
        "location": profile.location,
        "joined": joined,
        "about": profile.about,
    }


def stats_rows(stats: TraktStats) -> list[tuple[str, str]]:
    group, time = formatting.grouped, formatting.watch_time
    return [
        ("Movies watched", group(stats.movies.watched)),
        ("Movie time", time(stats.movies.minutes)),
        ("Shows watched", group(stats.shows.watched)),
        ("Episodes watched", group(stats.episodes.watched)),
        ("Episode time", time(stats.episodes.minutes)),
        ("Total time", time(stats.movies.minutes + stats.episodes.minutes)),
        ("Plays", group(stats.movies.plays + stats.episodes.plays)),
        ("Ratings given", group(stats.ratings.total)),
        ("Followers", group(stats.network.followers)),
        ("Following", group(stats.network.following)),
    ]


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
