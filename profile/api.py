"""The JSON API and its tester page: every endpoint answers GET and HEAD, with one error shape.

profile/openapi.json is the contract of every endpoint here; tests/contract.py checks each
answer of the test suite against it, and /api-test lists its endpoints.
"""

import json
from functools import cache
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from nowwatching.cache_backend import shared_cache_status
from profile import services
from profile.cache import Cached
from profile.client import TraktProfile, TraktStats, UpstreamError
from profile.decorators import html_page, json_endpoint, query_options

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


@json_endpoint(error_fields={"isWatching": False})
def api_watching(request):
    answer = services.get_watching()
    response = JsonResponse(answer.as_json(), status=answer.http_status)
    if answer.error is not None and answer.error.retry_after is not None:
        response["Retry-After"] = str(answer.error.retry_after)
    if answer.stale:
        response["Age"] = str(answer.age)
    # Clients may keep it but must revalidate (ETag, 304) before each reuse.
    patch_cache_control(response, no_cache=True)
    return response


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
    endpoints = api_endpoints()
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


def api_endpoints() -> list[dict[str, str]]:
    """Every GET operation of the document: its name (operationId), path and summary."""
    return [
        {"name": operation["operationId"], "path": path, "summary": operation["summary"]}
        for path, item in openapi_document()["paths"].items()
        if (operation := item.get("get"))
    ]


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
