"""How the API's answers are made: JSON, revalidated before every reuse (no-cache), labelled
when they are demo data or stale, and errors in one shape."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import patch_cache_control

from profile.client import UpstreamError
from profile.errors import API_ERRORS
from profile.live.cache import Cached


def answer(body: dict) -> JsonResponse:
    """A good answer: clients may keep it, but must revalidate it (ETag) before each reuse."""
    if settings.DEMO_MODE:
        body["demo"] = True
    return no_cache(JsonResponse(body))


def cached_answer(body: dict, cached: Cached) -> JsonResponse:
    """An answer kept from Trakt: marked stale (with its Age) when Trakt is failing."""
    if cached.stale:
        body["stale"] = True
    response = answer(body)
    if cached.stale:
        response["Age"] = str(cached.age)
    return response


def error_answer(error: UpstreamError) -> JsonResponse:
    response = JsonResponse({"error": error.as_json()}, status=error.http_status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return no_cache(response)


def history_unavailable() -> JsonResponse:
    body = {
        "error": {
            "code": "history_unavailable",
            "message": "The history could not be read from the database; try again later.",
        }
    }
    return no_cache(JsonResponse(body, status=API_ERRORS["history_unavailable"]))


# How soon an orchestrator may ask /readyz again: migrations take seconds.
NOT_READY_RETRY_SECONDS = 5


def not_ready(reason: str) -> JsonResponse:
    body = {
        "ready": False,
        "error": {"code": "not_ready", "message": reason, "retry_after": NOT_READY_RETRY_SECONDS},
    }
    response = JsonResponse(body, status=API_ERRORS["not_ready"])
    response["Retry-After"] = str(NOT_READY_RETRY_SECONDS)
    return no_cache(response)


def no_cache(response: JsonResponse) -> JsonResponse:
    patch_cache_control(response, no_cache=True)
    return response
