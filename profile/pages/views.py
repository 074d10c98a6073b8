"""The HTML pages: the profile page and its live parts (/live), the year in review, the
favicon. Thin: each asks one service for its data and renders the page's partials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from html import unescape

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject

from profile.context_processors import site
from profile.decorators import html_page, json_endpoint
from profile.live import push
from profile.live.answers import peek_profile
from profile.live.banner import live_parts
from profile.live.page import get_live_data, get_page_data
from profile.pages import figures
from profile.pages.header import open_graph, profile_header, stats_tiles, trakt_trouble

log = logging.getLogger(__name__)


@html_page
def home(request):
    """The profile page. It never waits long on Trakt (what is late is filled in by the
    script) and never on the history sync: the history comes from the mirror as it is."""
    data = get_page_data()
    now = datetime.now(UTC)
    profile = data.profile.value if data.profile else None
    trakt_stats = data.stats.value if data.stats else None
    trouble = trakt_trouble(data.error)
    mirror = figures.home(now, trouble if data.error else "")
    header = profile_header(profile, trakt_stats)
    kept = data.last_watched.value if data.last_watched else None
    live = live_parts(data.watching, header, kept, data.ended, mirror.state, now, data.friends)
    # Drawn inside the cached sections: only when they are rendered again.
    ratings = SimpleLazyObject(lambda: figures.ratings_distribution(trakt_stats))
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
        "event_id": push.latest_id(),
    }
    context["og"] = open_graph(request, header, live["playing"])
    return render(request, "profile/home.html", context)


# The page's live parts: what /live answers, each rendered from the partial the page
# includes (static/js/profile.js swaps them in), by the name of its data-fragment.
LIVE_FRAGMENTS = {
    "banner": "profile/_banner_slot.html",
    "last-watched": "profile/_last_watched.html",
    "friends": "profile/_friends.html",
    "recent": "profile/_recent.html",
}


RECENT_SECONDS = 30


@json_endpoint()
def live(request):
    """/live: the page's live parts as the page would render them now, for the page's
    script (not an API: its shape is the page's). Never waits on Trakt; an unchanged
    answer is a 304 (ConditionalGetMiddleware compares the ETag)."""
    response = JsonResponse(live_body(request))
    # Kept by nobody but the page's script, which revalidates with the ETag each time.
    patch_cache_control(response, no_cache=True)
    return response


@html_page
def live_stream(request):
    """/live/stream as Django answers it (`make run`): no stream here, so 204, and the
    page's EventSource gives up and the page polls /live. Under gunicorn's asgi worker the
    stream is served before Django sees the request (profile/live/stream.py)."""
    return HttpResponse(status=204)


def live_body(request=None) -> dict:
    """/live's body: the page's live parts, rendered from the page's own partials. Pushed to
    open pages as it is (profile/live/push.py renders it with no request)."""
    data = get_live_data()
    now = datetime.now(UTC)
    error = data.watching.error if data.watching else None
    trouble = trakt_trouble(error) if error else ""
    mirror = figures.home(now, trouble)
    context = live_parts(
        data.watching,
        profile_header(data.profile),
        data.last_watched,
        data.ended,
        mirror.state,
        now,
        data.friends,
    )
    context["history"] = mirror
    if request is None:
        context |= site(None)  # what the context processor gives a request's rendering
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
    return {
        # Plain text for document.title: the partial escapes, as the page's <title> needs.
        "title": unescape(render_to_string("profile/_title.html", context, request)).strip(),
        "announce": context["announce"],
        "poll_seconds": context["poll_seconds"],
        "fragments": fragments,
    }


@html_page
def year_in_review(request, yyyy: int):
    """/year/<yyyy>: one year of the mirror; 404 for a year without plays."""
    # The owner's name if the profile is at hand: this page never waits on Trakt for it.
    profile = peek_profile()
    name = (profile.name or profile.username) if profile else settings.TRAKT_USERNAME or None
    try:
        page = figures.year(yyyy)
        if page is None:
            context = {"year": yyyy, "name": name, "years": figures.years()}
            return render(request, "profile/year_missing.html", context, status=404)
    except DatabaseError:
        log.warning("year in review: the database could not be read")
        context = {"year": yyyy, "name": name, "unavailable": True}
        return render(request, "profile/year_missing.html", context, status=503)
    return render(request, "profile/year.html", {"page": page, "name": name})


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
