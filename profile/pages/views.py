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
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject

from nowwatching.databases.guard import reported
from profile.context_processors import site
from profile.decorators import html_page, json_endpoint, query_options
from profile.live import push
from profile.live.avatar import AVATAR_SECONDS, avatar_image
from profile.live.banner import live_parts
from profile.live.page import get_live_data, get_page_data
from profile.pages import figures
from profile.pages.header import (
    open_graph,
    owner_name,
    profile_header,
    short_name,
    stats_tiles,
    trakt_trouble,
)

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
    # Without an API app the figures are the export's: the page says as of when.
    as_of = None
    if settings.EXPORT_ONLY and data.stats is not None:
        as_of = datetime.fromtimestamp(data.stats.stored_at, UTC)
    short = short_name(header["name"])
    context = (
        live
        | _owner_words(short)
        | {
            "profile": header,
            "stats": stats_tiles(trakt_stats) if trakt_stats else None,
            "stats_stale": bool(data.stats and data.stats.stale),
            "history": mirror,
            "ratings_chart": ratings,
            # Everything below the banner changes with the mirror or Trakt's stats, and "2 h ago"
            # with time: rendered at most once every 30 s (templates/profile/home.html).
            "history_key": mirror.cache_key(
                trakt_stats, bool(data.stats and data.stats.stale), trouble, short, as_of
            ),
            "data_as_of": as_of,
            # The history's own sections, a live fragment the script sends back (/live).
            "sections_key": mirror.sections_key(trakt_stats, short),
            "trakt_trouble": trouble,
            "signed_out": data.signed_out,
            "event_id": push.latest_id(),
        }
    )
    context["og"] = open_graph(request, header, live["playing"])
    return render(request, "profile/home.html", context)


# The page's live parts: what /live answers, each rendered from the partial the page
# includes (static/js/profile.js swaps them in), by the name of its data-fragment. "history"
# (Activity, When, Taste, the years) only when the page shows another version of it than the
# mirror's: on a first run they come in as the backfill goes on.
LIVE_FRAGMENTS = {
    "banner": "profile/_banner_slot.html",
    "last-watched": "profile/_last_watched.html",
    "friends": "profile/_friends.html",
    "recent": "profile/_recent.html",
    "history": "profile/_history.html",
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
    header = profile_header(data.profile)
    context = live_parts(
        data.watching,
        header,
        data.last_watched,
        data.ended,
        mirror.state,
        now,
        data.friends,
    )
    short = short_name(header["name"])
    context |= _owner_words(short) | {"history": mirror}
    if request is None:
        context |= site(None)  # what the context processor gives a request's rendering
    fragments = {
        name: render_to_string(template, context, request).strip()
        for name, template in LIVE_FRAGMENTS.items()
        if name not in ("recent", "history")
    }
    # The posters change with the mirror, their "2 h ago" with time: like the page's
    # sections, rendered again at most every 30 s (the most costly fragment by far).
    fragments["recent"] = _kept_fragment("recent", mirror.cache_key(trouble), context, request)
    # The history's sections, when the page says it shows another version (the key it sends
    # back is only compared, never kept: what is kept is keyed by the mirror's own). Never
    # pushed (no request): a page that needs them gets them from its next poll.
    sections = mirror.sections_key(data.stats, short)
    shown = query_options(request).get("history") if request is not None else None
    if shown is not None and shown != sections:
        context["sections_key"] = sections
        context["ratings_chart"] = SimpleLazyObject(
            lambda: figures.ratings_distribution(data.stats)
        )
        fragments["history"] = _kept_fragment("history", sections, context, request)
    return {
        # Plain text for document.title: the partial escapes, as the page's <title> needs.
        "title": unescape(render_to_string("profile/_title.html", context, request)).strip(),
        "announce": context["announce"],
        "poll_seconds": context["poll_seconds"],
        "fragments": fragments,
    }


def _owner_words(short: str) -> dict:
    """How the history's sections name the owner (never "you": a visitor reads them)."""
    return {
        "short": short,
        "spread_caption": f"{short}'s rating less the community's, rounded to whole points",
    }


def _kept_fragment(name: str, key: str, context: dict, request) -> str:
    """A live fragment rendered at most every RECENT_SECONDS for what it depends on (`key`)."""
    return caches["local"].get_or_set(
        f"nowwatching:v1:live-{name}:{key}",
        lambda: render_to_string(LIVE_FRAGMENTS[name], context, request).strip(),
        RECENT_SECONDS,
    )


@html_page
def year_in_review(request, yyyy: int):
    """/year/<yyyy>: one year of the mirror; 404 for a year without plays."""
    # The owner's name if the profile is at hand: this page never waits on Trakt for it.
    name = owner_name()
    try:
        page = figures.year(yyyy)
        if page is None:
            context = {"year": yyyy, "name": name, "years": figures.years()}
            return render(request, "profile/year_missing.html", context, status=404)
    except DatabaseError as error:
        if not reported(error):  # an outage is logged when it begins and ends
            log.warning("year in review: the database could not be read")
        context = {"year": yyyy, "name": name, "unavailable": True}
        return render(request, "profile/year_missing.html", context, status=503)
    return render(request, "profile/year.html", {"page": page, "name": name})


@html_page
def avatar(request):
    """/avatar: the owner's avatar (live/avatar.py), from wherever Trakt keeps it; a 404 when
    there is none to show (the page then shows the initials)."""
    image = avatar_image()
    if image is None:
        raise Http404("no avatar")
    response = HttpResponse(image.data, content_type=image.content_type)
    # The page asks for it by a versioned address (/avatar?v=...): a day is safe to keep.
    patch_cache_control(response, public=True, max_age=AVATAR_SECONDS)
    return response


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
