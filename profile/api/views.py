"""The JSON API, the card and /api-test: thin views over one service each, answered in the
shapes of `serialize.py` (the public contract)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.text import slugify

from nowwatching.cache_backend import shared_cache_status
from nowwatching.etags import set_etag
from profile import formatting
from profile.api import serialize
from profile.api.answers import (
    answer,
    cached_answer,
    error_answer,
    history_unavailable,
    no_cache,
    not_ready,
)
from profile.api.openapi import api_endpoints, openapi_text
from profile.api.params import (
    BadParameter,
    cursor,
    day,
    diary_filters,
    whole,
    within_calendar,
)
from profile.client import UpstreamError
from profile.decorators import html_page, json_endpoint, query_options
from profile.live import card
from profile.live.answers import WatchingAnswer, get_profile, get_stats, get_watching
from profile.live.cache import Cached
from profile.mirror import diary, exporting, library, queries
from profile.mirror.detail import title_detail
from profile.mirror.review import year_review
from profile.mirror.search import MAX_QUERY, search
from profile.mirror.state import cached, mirror
from profile.ops import health


@json_endpoint(error_fields={"isWatching": False})
def api_watching(request):
    answer = get_watching()
    if answer.error is not None:
        response = JsonResponse(
            serialize.watching_json(answer, datetime.now(UTC)), status=answer.http_status
        )
        if answer.error.retry_after is not None:
            response["Retry-After"] = str(answer.error.retry_after)
    else:
        body, etag = _watching_body(answer, datetime.now(UTC))
        response = HttpResponse(body, content_type="application/json")
        # The body's own ETag, as ConditionalGetMiddleware would make it (it keeps one it finds).
        response["ETag"] = etag
    if answer.stale:
        response["Age"] = str(answer.age)
    # Clients may keep it but must revalidate (ETag, 304) before each reuse.
    response["Cache-Control"] = "no-cache"
    return response


@dataclass(frozen=True)
class _RenderedWatching:
    answer: WatchingAnswer
    moment: tuple  # all else the body depends on: the progress's figures, stale, the demo label
    body: bytes
    etag: str


# The last body this process rendered. The answer changes every few seconds at most and its
# body once a second (percentage, remaining_seconds), so nearly every request reuses one: only
# the first of each second builds the JSON and hashes it. One slot, replaced whole (atomic
# under the GIL); two threads that both miss at a second's turn both render, harmlessly.
_rendered_watching: _RenderedWatching | None = None


def _watching_body(answer: WatchingAnswer, now: datetime) -> tuple[bytes, str]:
    """The JSON body of a good watching answer at `now`, and its ETag: byte for byte what
    rendering it afresh gives, kept while the answer and the body's figures stay the same."""
    global _rendered_watching
    watching = answer.watching
    # The body depends on `now` only through the progress's two figures.
    figures = None if watching is None else watching.progress.moment(now)
    moment = (figures, answer.stale, settings.DEMO_MODE)
    kept = _rendered_watching
    if kept is not None and kept.moment == moment and _same_answer(kept.answer, answer):
        return kept.body, kept.etag
    rendered = JsonResponse(serialize.watching_json(answer, now))
    set_etag(rendered)
    _rendered_watching = _RenderedWatching(answer, moment, rendered.content, rendered["ETag"])
    return rendered.content, rendered["ETag"]


def _same_answer(kept: WatchingAnswer, answer: WatchingAnswer) -> bool:
    # The process keeps one answer object while it is fresh, so identity nearly always
    # decides; an equal copy (read from the shared cache) is the same answer too.
    return kept.watching is answer.watching or kept.watching == answer.watching


@json_endpoint()
def api_profile(request):
    return _trakt_answer("profile", get_profile, serialize.profile_json)


@json_endpoint()
def api_stats(request):
    return _trakt_answer("stats", get_stats, serialize.stats_json)


def _trakt_answer(name: str, get: Callable[[], Cached], as_json: Callable) -> JsonResponse:
    """A kept Trakt answer under `name`, marked stale while Trakt fails; else its error."""
    try:
        cached = get()
    except UpstreamError as error:
        return error_answer(error)
    return cached_answer({name: as_json(cached.value)}, cached)


# --- The history mirror ------------------------------------------------------------------------


HISTORY_LIMIT = 50


MAX_LIMIT = 100


MAX_PAGE = 1_000_000


MAX_ACTIVITY_DAYS = 366


@json_endpoint()
def api_history(request):
    """The plays, newest first, with the diary's filters: a page at a time by cursor (any
    depth at the cost of the first), or by page number."""
    options = query_options(request)
    try:
        limit = whole(options, "limit", HISTORY_LIMIT, 1, MAX_LIMIT)
        after = cursor(options)
        if after is not None and "page" in options:
            raise BadParameter("page", "page and cursor cannot be combined: follow next_cursor.")
        page = whole(options, "page", 1, 1, MAX_PAGE)
        found = diary.diary_page(
            diary_filters(options),
            after=after,
            page=None if after else page,
            limit=limit,
            count_position=True,
        )
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return history_unavailable()
    if found.position is not None:
        page = found.position // limit + 1
    elif after is not None:
        page = found.total // limit + 1  # past the end
    body = {
        "items": [serialize.diary_json(entry) for entry in found.entries],
        "page": page,
        "limit": limit,
        "total": found.total,
        "next_cursor": found.older.cursor if found.older else None,
    }
    return answer(body)


@json_endpoint()
def api_activity(request):
    """Plays and minutes for every day of a range (the owner's days), zeros included."""
    options = query_options(request)
    try:
        start, end = day(options, "from"), day(options, "to")
        if end is None:
            end = start + timedelta(days=364) if start else formatting.local_date(datetime.now(UTC))
            end = within_calendar(end)
        if start is None:
            start = within_calendar(end - timedelta(days=364))
        if start > end:
            raise BadParameter("from", "from must be on or before to.")
        if (end - start).days + 1 > MAX_ACTIVITY_DAYS:
            raise BadParameter("to", f"from and to may span at most {MAX_ACTIVITY_DAYS} days.")
        state = mirror()
        days = queries.activity(start, end)
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return history_unavailable()
    return answer(
        {
            "time_zone": state.time_zone,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": [
                {"date": d.date.isoformat(), "plays": d.plays, "minutes": d.minutes} for d in days
            ],
        }
    )


@json_endpoint()
def api_year(request, yyyy: int):
    """The year in review's figures; 404 for a year without plays."""
    try:
        state = mirror()
        review = cached(state, f"year-review:{yyyy}", lambda: year_review(yyyy))
    except DatabaseError:
        return history_unavailable()
    if review is None:
        body = {"error": {"code": "not_found", "message": f"No plays in {yyyy}."}}
        return no_cache(JsonResponse(body, status=404))
    return answer(serialize.year_json(review, state.time_zone))


@json_endpoint()
def api_export(request, format: str):
    """/api/export/...: the whole history as a download, streamed (mirror/exporting.py).
    Revalidated by an ETag of the mirror's version: an unchanged mirror is a 304."""
    chosen = exporting.FORMATS[format]
    try:
        state = mirror()
        owner = exporting.owner()
    except DatabaseError:
        return history_unavailable()
    # Weak: the bytes differ in their export time, what they say does not.
    etag = f'W/"export-{chosen.name}-{state.version}-{slugify(state.time_zone)}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = StreamingHttpResponse(chosen.rows(), content_type=chosen.content_type)
        response["Content-Disposition"] = f'attachment; filename="{chosen.filename(owner)}"'
    response["ETag"] = etag
    patch_cache_control(response, no_cache=True)
    return response


# --- The library, the titles, search --------------------------------------------------------------

SHELF_LIMIT = 100
MAX_SHELF_LIMIT = 250
SEARCH_LIMIT = 20
MAX_SEARCH_LIMIT = 50


def _not_found(message: str) -> JsonResponse:
    body = {"error": {"code": "not_found", "message": message}}
    return no_cache(JsonResponse(body, status=404))


def _shelf(options) -> tuple[int, int]:
    """`page` and `limit` of a paged shelf (the watchlist, a list's items)."""
    return (
        whole(options, "page", 1, 1, MAX_PAGE),
        whole(options, "limit", SHELF_LIMIT, 1, MAX_SHELF_LIMIT),
    )


@json_endpoint()
def api_favorites(request):
    """The owner's favourites, in their order."""
    try:
        items = library.favorites(limit=None)
    except DatabaseError:
        return history_unavailable()
    return answer({"items": [serialize.entry_json(item) for item in items]})


@json_endpoint()
def api_watchlist(request):
    """The watchlist, in the owner's order, a page at a time."""
    try:
        page, limit = _shelf(query_options(request))
        items, total = library.watchlist((page - 1) * limit, limit)
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return history_unavailable()
    body = {"items": [serialize.entry_json(item) for item in items]}
    return answer(body | {"page": page, "limit": limit, "total": total})


@json_endpoint()
def api_lists(request):
    """The owner's public lists (the only ones this site knows)."""
    try:
        found = library.lists()
    except DatabaseError:
        return history_unavailable()
    return answer({"lists": [serialize.list_json(summary) for summary in found]})


@json_endpoint()
def api_list(request, slug: str):
    """One public list and its items, in its own order, a page at a time."""
    try:
        page, limit = _shelf(query_options(request))
        found = library.user_list(slug, (page - 1) * limit, limit)
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return history_unavailable()
    if found is None:
        return _not_found("No public list has this slug.")
    summary, items = found
    body = {"list": serialize.list_json(summary), "items": [serialize.entry_json(i) for i in items]}
    return answer(body | {"page": page, "limit": limit, "total": summary.items})


def _title_answer(kind: str, slug: str) -> JsonResponse:
    try:
        found = title_detail(kind, slug)
    except DatabaseError:
        return history_unavailable()
    if found is None:
        return _not_found(f"The history holds no {kind} with this slug.")
    return answer(serialize.detail_json(found))


@json_endpoint()
def api_movie(request, slug: str):
    """A movie: what Trakt says of it, the owner's rating, comments and plays."""
    return _title_answer("movie", slug)


@json_endpoint()
def api_show(request, slug: str):
    """A show: as a movie, and its seasons' episodes played."""
    return _title_answer("show", slug)


@json_endpoint()
def api_search(request):
    """Every title the site knows that matches `q`, best first."""
    options = query_options(request)
    try:
        # Free text: read up to MAX_QUERY characters, like the page's search box.
        query = options.get("q", "")[:MAX_QUERY].strip()
        limit = whole(options, "limit", SEARCH_LIMIT, 1, MAX_SEARCH_LIMIT)
        hits = search(query, limit) if query else []
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return history_unavailable()
    return answer({"query": query, "items": [serialize.hit_json(hit) for hit in hits]})


# --- The card, the contract, health, the tester -------------------------------------------------


@json_endpoint()
def watching_svg(request):
    theme, width = card.card_options(query_options(request))
    response = HttpResponse(
        card.render(card.watching_card(), theme=theme, width=width), content_type="image/svg+xml"
    )
    # Image proxies (GitHub's camo) may keep it but must revalidate: the ETag comes from
    # ConditionalGetMiddleware, which also answers 304.
    patch_cache_control(response, no_cache=True, max_age=0)
    response["Content-Security-Policy"] = card.CONTENT_SECURITY_POLICY
    return response


@json_endpoint()
def api_openapi(request):
    response = HttpResponse(openapi_text(), content_type="application/json")
    patch_cache_control(response, no_cache=True)
    return response


@json_endpoint()
def healthz(request):
    """Liveness: never touches Trakt or TMDB. The site is up ("status": "ok", always 200);
    "cache" says whether the shared cache answers, or is down and each process serves from
    its own memory ("degraded"); "database" and "history" what `ops.health` says."""
    liveness = serialize.liveness_json(health.liveness())
    return JsonResponse({"status": "ok", "cache": shared_cache_status()} | liveness)


@json_endpoint()
def readyz(request):
    """Readiness: 200 once the database answers and holds every migration of this release,
    else 503 (`not_ready`), so an orchestrator sends no visitor here before then."""
    ready = health.readiness()
    if ready.ready:
        return no_cache(JsonResponse({"ready": True}))
    return not_ready(ready.reason)


@html_page
def api_test(request):
    """The endpoint tester: the browser calls the endpoints the OpenAPI document lists, with
    an input for each of their parameters (api_test.js builds the address from them)."""
    try:
        # A path parameter gets something the mirror holds, else its documented example.
        values = library.examples()
    except DatabaseError:
        values = {}
    endpoints = api_endpoints(values)
    options = query_options(request)
    chosen = options.get("endpoint")
    if chosen not in {endpoint["name"] for endpoint in endpoints}:
        chosen = endpoints[0]["name"]
    # Without script the form only reselects: what it sent is shown again.
    for endpoint in endpoints:
        if endpoint["name"] == chosen:
            for field in endpoint["parameters"]:
                field["value"] = options.get(field["name"], field["value"])[:500]
    return render(request, "api_test.html", {"endpoints": endpoints, "chosen": chosen})
