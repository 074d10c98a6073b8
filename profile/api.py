"""The JSON API and its tester page: every endpoint answers GET and HEAD, with one error shape.

profile/openapi.json is the contract of every endpoint here; tests/contract.py checks each
answer of the test suite against it, and /api-test lists its endpoints.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from nowwatching.cache_backend import shared_cache_status
from nowwatching.etags import set_etag
from profile import formatting, services, stats
from profile.cache import Cached
from profile.client import TraktProfile, TraktStats, UpstreamError
from profile.decorators import html_page, json_endpoint, query_options
from profile.errors import API_ERRORS

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


@json_endpoint(error_fields={"isWatching": False})
def api_watching(request):
    answer = services.get_watching()
    if answer.error is not None:
        response = JsonResponse(answer.as_json(), status=answer.http_status)
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
    answer: services.WatchingAnswer
    moment: tuple  # all else the body depends on: the progress's figures, stale, the demo label
    body: bytes
    etag: str


# The last body this process rendered. The answer changes every few seconds at most and its
# body once a second (percentage, remaining_seconds), so nearly every request reuses one: only
# the first of each second builds the JSON and hashes it. One slot, replaced whole (atomic
# under the GIL); two threads that both miss at a second's turn both render, harmlessly.
_rendered_watching: _RenderedWatching | None = None


def _watching_body(answer: services.WatchingAnswer, now: datetime) -> tuple[bytes, str]:
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
    rendered = JsonResponse(answer.as_json(now))
    set_etag(rendered)
    _rendered_watching = _RenderedWatching(answer, moment, rendered.content, rendered["ETag"])
    return rendered.content, rendered["ETag"]


def _same_answer(kept: services.WatchingAnswer, answer: services.WatchingAnswer) -> bool:
    # The process keeps one answer object while it is fresh, so identity nearly always
    # decides; an equal copy (read from the shared cache) is the same answer too.
    return kept.watching is answer.watching or kept.watching == answer.watching


@json_endpoint()
def api_profile(request):
    try:
        cached = services.get_profile()
    except UpstreamError as error:
        return _error_answer(error)
    return _answer({"profile": _profile_json(cached.value)}, cached)


@json_endpoint()
def api_stats(request):
    try:
        cached = services.get_stats()
    except UpstreamError as error:
        return _error_answer(error)
    return _answer({"stats": _stats_json(cached.value)}, cached)


# --- The history mirror ------------------------------------------------------------------------

HISTORY_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 1_000_000
MAX_ACTIVITY_DAYS = 366


@json_endpoint()
def api_history(request):
    """The plays, newest first, a page at a time."""
    options = query_options(request)
    try:
        page = _whole(options, "page", 1, 1, MAX_PAGE)
        limit = _whole(options, "limit", HISTORY_LIMIT, 1, MAX_LIMIT)
        kind = _choice(options, "type", ("movie", "episode"))
        items, total = stats.history(page, limit, kind)
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return _history_unavailable()
    body = {"items": [item.as_json() for item in items], "page": page, "limit": limit}
    return _mirror_answer(body | {"total": total})


@json_endpoint()
def api_activity(request):
    """Plays and minutes for every day of a range (the owner's days), zeros included."""
    options = query_options(request)
    try:
        start, end = _day(options, "from"), _day(options, "to")
        if end is None:
            end = start + timedelta(days=364) if start else formatting.local_date(datetime.now(UTC))
        if start is None:
            start = end - timedelta(days=364)
        if start > end:
            raise BadParameter("from", "from must be on or before to.")
        if (end - start).days + 1 > MAX_ACTIVITY_DAYS:
            raise BadParameter("to", f"from and to may span at most {MAX_ACTIVITY_DAYS} days.")
        state = stats.mirror()
        days = stats.activity(start, end)
    except BadParameter as bad:
        return bad.answer()
    except DatabaseError:
        return _history_unavailable()
    return _mirror_answer(
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
        state = stats.mirror()
        review = stats.cached(state, f"year-review:{yyyy}", lambda: stats.year_review(yyyy))
    except DatabaseError:
        return _history_unavailable()
    if review is None:
        body = {"error": {"code": "not_found", "message": f"No plays in {yyyy}."}}
        return _no_cache(JsonResponse(body, status=404))
    return _mirror_answer(year_json(review, state.time_zone))


def year_json(review: stats.YearReview, time_zone: str) -> dict:
    totals = review.totals
    binge = review.binge
    return {
        "year": review.year,
        "time_zone": time_zone,
        "plays": totals.plays,
        "minutes": totals.minutes,
        "days_active": totals.days,
        "titles": totals.titles,
        "movies": {"plays": totals.movie_plays, "minutes": totals.movie_minutes},
        "episodes": {"plays": totals.episode_plays, "minutes": totals.episode_minutes},
        "months": [
            {
                "month": m.month,
                "plays": m.plays,
                "minutes": m.minutes,
                "movie_minutes": m.movie_minutes,
                "episode_minutes": m.episode_minutes,
            }
            for m in review.months
        ],
        "genres": [
            {"slug": g.slug, "name": g.name, "plays": g.plays, "minutes": g.minutes}
            for g in review.genres
        ],
        "top_shows": [_title_figure(entry) for entry in review.shows],
        "top_movies": [_title_figure(entry) for entry in review.movies],
        "longest_binge": None
        if binge is None
        else {
            "show": _title_json(binge.title),
            "episodes": binge.episodes,
            "minutes": binge.minutes,
            "started_at": stats.iso(binge.started),
            "ended_at": stats.iso(binge.ended),
        },
        "first": review.first.as_json(),
        "last": review.last.as_json(),
    }


def _title_json(title: stats.TitleInfo) -> dict:
    return {
        "type": title.kind,
        "title": title.title,
        "year": title.year,
        "ids": title.ids_json(),
        "links": title.links(),
        "poster": title.poster,
    }


def _title_figure(entry: stats.TitleCount) -> dict:
    return _title_json(entry.title) | {"plays": entry.plays, "minutes": entry.minutes}


class BadParameter(Exception):
    """A query parameter that is not what the API takes: a 400 that names it."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message

    def answer(self) -> JsonResponse:
        body = {"error": {"code": "bad_request", "message": self.message}}
        return _no_cache(JsonResponse(body, status=400))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _whole(options, name: str, default: int, low: int, high: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not low <= int(raw) <= high:
        raise BadParameter(
            name, f"{name} must be a whole number from {low:,} to {high:,}, not {_shown(raw)}."
        )
    return int(raw)


def _choice(options, name: str, choices: tuple[str, ...]) -> str | None:
    raw = options.get(name)
    if raw is None:
        return None
    if raw not in choices:
        allowed = " or ".join(choices)
        raise BadParameter(name, f"{name} must be {allowed}, not {_shown(raw)}.")
    return raw


def _day(options, name: str) -> date | None:
    raw = options.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a date like 2025-01-31, not {_shown(raw)}."
        ) from None


def _mirror_answer(body: dict) -> JsonResponse:
    if settings.DEMO_MODE:
        body["demo"] = True
    return _no_cache(JsonResponse(body))


def _history_unavailable() -> JsonResponse:
    body = {
        "error": {
            "code": "history_unavailable",
            "message": "The history could not be read from the database; try again later.",
        }
    }
    return _no_cache(JsonResponse(body, status=API_ERRORS["history_unavailable"]))


def _no_cache(response: JsonResponse) -> JsonResponse:
    patch_cache_control(response, no_cache=True)
    return response


@json_endpoint()
def api_openapi(request):
    response = HttpResponse(_openapi_text(), content_type="application/json")
    patch_cache_control(response, no_cache=True)
    return response


@json_endpoint()
def healthz(request):
    """Liveness: never touches Trakt or TMDB. The site is up ("status": "ok", always 200);
    "cache" says whether the shared cache answers, or is down and each process serves from
    its own memory ("degraded")."""
    return JsonResponse({"status": "ok", "cache": shared_cache_status()})


@html_page
def api_test(request):
    """The endpoint tester: the browser calls the endpoints the OpenAPI document lists."""
    try:
        years = stats.year_list()
    except DatabaseError:
        years = []
    # A path parameter gets its documented example, or the newest year with plays.
    endpoints = api_endpoints({"yyyy": years[0]} if years else {})
    chosen = query_options(request).get("endpoint")
    if chosen not in {endpoint["name"] for endpoint in endpoints}:
        chosen = endpoints[0]["name"]
    return render(request, "api_test.html", {"endpoints": endpoints, "chosen": chosen})


# --- The contract -----------------------------------------------------------------------------


@cache  # read once per process: the file only changes with a deploy
def _openapi_text() -> str:
    return OPENAPI_PATH.read_text()


def openapi_document() -> dict:
    return json.loads(_openapi_text())


def api_endpoints(values: dict | None = None) -> list[dict[str, str]]:
    """Every GET operation of the document: its name (operationId), path and summary, and a
    URL to call (path parameters filled from `values`, else from their examples)."""
    endpoints = []
    for path, item in openapi_document()["paths"].items():
        if not (operation := item.get("get")):
            continue
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                name = parameter["name"]
                value = (values or {}).get(name, parameter.get("example", ""))
                url = url.replace("{" + name + "}", quote(str(value), safe=""))
        endpoints.append(
            {
                "name": operation["operationId"],
                "path": path,
                "url": url,
                "summary": operation["summary"],
            }
        )
    return endpoints


# --- Answers ----------------------------------------------------------------------------------


def _answer(body: dict, cached: Cached) -> JsonResponse:
    if cached.stale:
        body["stale"] = True
    if settings.DEMO_MODE:
        body["demo"] = True
    response = JsonResponse(body)
    if cached.stale:
        response["Age"] = str(cached.age)
    patch_cache_control(response, no_cache=True)
    return response


def _error_answer(error: UpstreamError) -> JsonResponse:
    response = JsonResponse({"error": error.as_json()}, status=error.http_status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    patch_cache_control(response, no_cache=True)
    return response


def _profile_json(profile: TraktProfile) -> dict:
    slug = profile.ids.slug
    return {
        "username": profile.username,
        "slug": slug,
        "name": profile.name or None,
        "private": profile.private,
        "vip": bool(profile.vip),
        "vip_ep": bool(profile.vip_ep),
        "avatar": profile.avatar_url,
        "location": profile.location or None,
        "about": profile.about or None,
        "joined_at": profile.joined_at,
        "links": {"trakt": f"https://trakt.tv/users/{quote(slug, safe='')}"},
    }


COUNTS = ("plays", "watched", "minutes", "collected", "ratings", "comments")
RATINGS = [str(rating) for rating in range(1, 11)]


def _stats_json(stats: TraktStats) -> dict:
    body = {
        kind: {name: getattr(getattr(stats, kind), name) for name in COUNTS}
        for kind in ("movies", "shows", "seasons", "episodes")
    }
    body["network"] = stats.network.model_dump()
    # Every rating from 1 to 10 is present, so a client can draw the bars without guessing.
    distribution = stats.ratings.distribution
    body["ratings"] = {
        "total": stats.ratings.total,
        "distribution": {rating: distribution.get(rating, 0) for rating in RATINGS},
    }
    body["totals"] = {
        "plays": stats.movies.plays + stats.episodes.plays,
        "minutes": stats.movies.minutes + stats.episodes.minutes,
    }
    return body
