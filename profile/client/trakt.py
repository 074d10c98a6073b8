"""Trakt's API: one function per call. Credentials and the user are arguments.

The caller decides whose credentials and which user ("me" with an OAuth token, else the
slug): a token renewed in the database, the owner's `me` paths and a plain API key take
the same code path. Every answer is checked into a schema (`schemas.py`).

Reference: https://trakt.docs.apiary.io/ (condensed, with sources, in
shared/reference/upstream-apis.md).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import pydantic_core
from django.conf import settings
from django.core.cache import cache
from django.dispatch import Signal
from pydantic import BaseModel, ValidationError

from profile.client.errors import VIP_NOTE, UpstreamError, bad_response, log_failure
from profile.client.http import (
    MAX_BODY_BYTES,
    Reply,
    decode_json,
    header_int,
    parse,
    retry_after_seconds,
    send,
)
from profile.client.schemas import (
    Followed,
    Friend,
    HistoryItem,
    HistoryPlay,
    LastActivities,
    RatedItem,
    RateLimitHeader,
    SearchResult,
    TraktProfile,
    TraktStats,
    TraktWatching,
)

log = logging.getLogger(__name__)

RATE_LIMIT_KEY = "nowwatching:v1:trakt:blocked-until"
# Sent with the `RateLimitHeader` of every answer that has a sound X-Ratelimit (`sender` is
# None): `profile.signin.rate_limit` keeps the latest for `manage.py trakt_status`.
rate_limit_seen = Signal()

# Trakt's cap on a page of a paginated list (larger `limit`s are cut to it without a word).
PAGE_LIMIT = 250
# A page of 250 plays with extended=full (overviews, translations...) can pass 1 MB.
LIST_MAX_BYTES = 8_000_000

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class TraktAuth:
    """Who calls: the app's client id and, for the owner's private data, an access token."""

    client_id: str
    access_token: str | None = field(default=None, repr=False)  # never in a repr or a log

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "trakt-api-key": self.client_id,
            "trakt-api-version": "2",
        }
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers


@dataclass(frozen=True)
class Pagination:
    """Trakt's X-Pagination-* headers; None for each one missing or nonsense. Trust these,
    not the `limit` asked for: Trakt cuts it to 250 without a word."""

    page: int | None
    limit: int | None
    page_count: int | None
    item_count: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Pagination:
        return cls(
            page=header_int(headers, "X-Pagination-Page", low=1),
            limit=header_int(headers, "X-Pagination-Limit", low=1),
            page_count=header_int(headers, "X-Pagination-Page-Count"),
            item_count=header_int(headers, "X-Pagination-Item-Count"),
        )


def user_segment(user: str) -> str:
    """A user as a URL path segment: "me", or a slug (quoted, though settings allow no
    character that needs it)."""
    return quote(user, safe="")


def call(
    auth: TraktAuth,
    endpoint: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    method: str = "GET",
    json_body: Any = None,
    max_bytes: int = MAX_BODY_BYTES,
    expected: tuple[str, ...] = (),
) -> tuple[Any, Reply]:
    """One Trakt call: its JSON (None for an empty 204) and the reply (for its headers).

    `endpoint` names the call in logs. Raises UpstreamError for every failure, logged once
    (a failure whose code is `expected`, such as a friend's private profile, only at debug).
    """
    if not auth.client_id and not settings.DEMO_MODE:
        raise UpstreamError(
            "not_configured", "Trakt is not configured: set TRAKT_API_KEY.", retry_after=3600
        )
    _refuse_while_blocked()
    try:
        reply = send(
            "trakt",
            method,
            settings.TRAKT_API_URL,
            path,
            params=params,
            json_body=json_body,
            headers=auth.headers(),
            max_bytes=max_bytes,
        )
        note_rate_limit(reply)
        if reply.status == 204:
            return None, reply
        if reply.status not in (200, 201):
            raise error_for(reply)
        return decode_json("trakt", reply), reply
    except UpstreamError as error:
        if error.code in expected:
            log.debug("Trakt %s: %s (expected)", endpoint, error.code)
        else:
            log_failure(log, f"Trakt {endpoint}", error, settings.TRAKT_API_URL, "TRAKT_API_URL")
        raise


def _refuse_while_blocked() -> None:
    if settings.DEMO_MODE:
        return
    blocked_until = cache.get(RATE_LIMIT_KEY)
    if blocked_until and blocked_until > time.time():
        wait = math.ceil(blocked_until - time.time())
        raise UpstreamError(
            "rate_limited",
            f"Trakt's rate limit was reached; try again in {wait} s.",
            retry_after=wait,
        )


def error_for(reply: Reply) -> UpstreamError:
    """What a Trakt status other than 200/201/204 means."""
    status, headers = reply.status, reply.headers

    def error(code: str, message: str, retry_after: int | None = None) -> UpstreamError:
        return UpstreamError(code, message, service="trakt", status=status, retry_after=retry_after)

    if status == 429:
        retry_after = retry_after_seconds(headers)
        # Every worker sharing this cache stays away from Trakt until then.
        cache.set(RATE_LIMIT_KEY, time.time() + retry_after, timeout=retry_after)
        return error(
            "rate_limited",
            f"Trakt's rate limit was reached; try again in {retry_after} s.",
            retry_after,
        )
    if status >= 500:
        return error("unavailable", f"Trakt is unavailable right now (HTTP {status}).")
    if status == 401:
        if headers.get("X-Private-User", "").lower() == "true":
            return error(
                "private_profile",
                "This Trakt profile is private: its owner can show it here by signing in once "
                "with `python manage.py trakt_login`.",
            )
        return error(
            "unauthorized",
            "Trakt refused the credentials (HTTP 401): check TRAKT_API_KEY and TRAKT_ACCESS_TOKEN.",
        )
    if status in (403, 426):
        return error("forbidden", f"Trakt refused this API app (HTTP {status}). {VIP_NOTE}")
    if status == 420:
        return error(
            "forbidden",
            "Trakt says the account limit is exceeded (HTTP 420); a VIP account lifts it.",
        )
    if status == 404:
        return error("not_found", "Trakt has no such user: check TRAKT_USERNAME.")
    if status == 423:
        return error("account_locked", "The Trakt account is locked or deactivated (HTTP 423).")
    return error("bad_response", f"Trakt answered with an unexpected HTTP {status}.")


def note_rate_limit(reply: Reply) -> None:
    # X-Ratelimit is informational on every answer; warn before the 429 arrives. It is read
    # like a body (bounded depth, bounded numbers): nonsense is ignored, never raised.
    raw = reply.headers.get("X-Ratelimit", "")
    if not raw or len(raw) > 1000:
        return
    try:
        info = RateLimitHeader.model_validate(pydantic_core.from_json(raw, allow_inf_nan=False))
    except ValueError:  # not JSON, or not numbers in range (ValidationError is one)
        return
    if info.limit and info.remaining * 10 < info.limit:
        log.warning("Trakt rate limit running low: %s of %s calls left", info.remaining, info.limit)
    rate_limit_seen.send_robust(sender=None, info=info)


# --- Calls ----------------------------------------------------------------------------------


def watching(auth: TraktAuth, user: str, *, friend: bool = False) -> TraktWatching | None:
    """What the user plays right now, or None (Trakt answers 204). For a `friend`, a private
    or vanished profile is expected, not news."""
    # Reference: https://trakt.docs.apiary.io/#reference/users/watching
    path = f"/users/{user_segment(user)}/watching"
    expected = ("private_profile", "unauthorized", "not_found") if friend else ()
    data, _ = call(auth, "watching", path, expected=expected)
    return None if data is None else parse(TraktWatching, data)


def profile(auth: TraktAuth, user: str) -> TraktProfile:
    """The user's profile. Trakt may send no slug (its contract allows null): the slug asked
    for is the profile's address then; for "me" it stays unknown."""
    # Reference: https://trakt.docs.apiary.io/#reference/users/profile
    # `images` is documented under both `full` and `images`; ask for both.
    data, _ = call(auth, "profile", f"/users/{user_segment(user)}", {"extended": "full,images"})
    found = parse(TraktProfile, data)
    if found.ids.slug is None and user != "me":
        return found.model_copy(update={"ids": found.ids.model_copy(update={"slug": user})})
    return found


def stats(auth: TraktAuth, user: str) -> TraktStats:
    # Reference: https://trakt.docs.apiary.io/#reference/users/stats
    data, _ = call(auth, "stats", f"/users/{user_segment(user)}/stats")
    return parse(TraktStats, data)


def last_watched(auth: TraktAuth, user: str) -> HistoryItem | None:
    # Reference: https://trakt.docs.apiary.io/#reference/users/history
    data, _ = call(auth, "history", f"/users/{user_segment(user)}/history", {"limit": 1})
    if data is None or data == []:
        return None
    if not isinstance(data, list):
        raise bad_response("trakt")
    return parse(HistoryItem, data[0])


FOLLOWING_PAGES = 4  # 1,000 people: more than anyone reads in a strip


def following(auth: TraktAuth, user: str) -> list[Friend]:
    """Whom the user follows (one page of 250, a few more if Trakt pages them)."""
    # Reference: upstream-more.md 2.8 (/users/{id}/following; paged on the worker branch)
    friends: list[Friend] = []
    for number in range(1, FOLLOWING_PAGES + 1):
        params = {"page": number, "limit": PAGE_LIMIT}
        data, reply = call(
            auth, "following", f"/users/{user_segment(user)}/following", params,
            max_bytes=LIST_MAX_BYTES,
        )  # fmt: skip
        page = _page(data, reply, Followed)
        friends += [entry.user for entry in page.items]
        if (page.pagination.page_count or 1) <= number:
            break
    return friends


SEARCH_ID_TYPES = ("imdb", "tmdb", "tvdb")


def lookup(auth: TraktAuth, id_type: str, value: str, kind: str) -> SearchResult | None:
    """The movie, the show, or the episode with its show, that an external id names on
    Trakt; None when Trakt knows none (`kind`: movie, show or episode)."""
    # Reference: trakt-api contracts/search, `lookup`: GET /search/{id_type}/{id}?type=
    if id_type not in SEARCH_ID_TYPES or kind not in ("movie", "show", "episode"):
        raise ValueError((id_type, kind))
    path = f"/search/{id_type}/{quote(str(value), safe='')}"
    try:
        data, reply = call(
            auth, "search", path, {"type": kind, "extended": "full"}, expected=("not_found",)
        )
    except UpstreamError as error:
        if error.code == "not_found":
            return None
        raise
    for result in _page(data, reply, SearchResult).items:
        media = result.movie if kind == "movie" else result.show
        if result.type == kind and media is not None:
            if kind != "episode" or result.episode is not None:
                return result
    return None


# --- The history mirror's calls (profile/mirror/sync/) -------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paginated list: the items that could be read, how many could not (an item
    of a surprising shape costs that item, not the page), and the pagination headers."""

    items: list[T]
    skipped: int
    pagination: Pagination


def _page(data: Any, reply: Reply, model: type[T]) -> Page[T]:
    if data is None:
        data = []  # 204: nothing at all
    if not isinstance(data, list):
        raise bad_response("trakt", "a list that is not a list")
    items, skipped = [], 0
    for entry in data:
        try:
            items.append(model.model_validate(entry))
        except ValidationError:
            skipped += 1
    if skipped:
        log.warning("Trakt sent %s unreadable item(s) in a page of %s", skipped, len(data))
    return Page(items, skipped, Pagination.from_headers(reply.headers))


def iso(moment) -> str:
    """A moment as Trakt writes them: 2024-01-31T20:15:00.000Z (UTC)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def history_page(
    auth: TraktAuth,
    user: str,
    *,
    page: int,
    limit: int = PAGE_LIMIT,
    start_at=None,
    end_at=None,
) -> Page[HistoryPlay]:
    """One page of the user's history, newest first, with extended=full (runtimes, genres,
    community ratings). `start_at`/`end_at` (datetimes) bound `watched_at`."""
    # Reference: https://trakt.docs.apiary.io/#reference/users/history
    params: dict[str, Any] = {"extended": "full", "page": page, "limit": limit}
    if start_at is not None:
        params["start_at"] = iso(start_at)
    if end_at is not None:
        params["end_at"] = iso(end_at)
    data, reply = call(
        auth, "history", f"/users/{user_segment(user)}/history", params, max_bytes=LIST_MAX_BYTES
    )
    return _page(data, reply, HistoryPlay)


RATING_KINDS = ("movies", "shows", "episodes")


def ratings_page(
    auth: TraktAuth, user: str, kind: str, *, page: int, limit: int = PAGE_LIMIT
) -> Page[RatedItem]:
    """One page of the user's ratings of `kind` (movies, shows or episodes), extended=full
    (so each item carries the community's rating)."""
    # Reference: https://trakt.docs.apiary.io/#reference/users/ratings
    if kind not in RATING_KINDS:
        raise ValueError(kind)
    params = {"extended": "full", "page": page, "limit": limit}
    data, reply = call(
        auth,
        "ratings",
        f"/users/{user_segment(user)}/ratings/{kind}",
        params,
        max_bytes=LIST_MAX_BYTES,
    )
    return _page(data, reply, RatedItem)


def last_activities(auth: TraktAuth) -> LastActivities:
    """When the owner's history and ratings last changed. Needs the owner's OAuth token."""
    # Reference: https://trakt.docs.apiary.io/#reference/sync/last-activities
    if not auth.access_token:
        raise ValueError("/sync/last_activities needs an OAuth token")
    data, _ = call(auth, "last_activities", "/sync/last_activities")
    return parse(LastActivities, data)
