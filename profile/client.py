"""The one client for Trakt and TMDB, used by every view through `profile.services`.

Every call goes through `_send()`: one `requests.Session`, a (connect, read) timeout, a
total deadline and a cap on the body size. Every failure becomes `UpstreamError` with a
stable `code`. Bodies are checked at the boundary by the pydantic models below; a body of
a surprising shape is `bad_response`, never a KeyError further up.

In demo mode `_send()` answers from `profile.demo` instead of the network, so everything
above the HTTP layer (status handling, parsing, caching) runs exactly as in production.

References: Trakt https://trakt.docs.apiary.io/ , TMDB https://developer.themoviedb.org/
(condensed, with sources, in shared/reference/upstream-apis.md).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from nowwatching import __version__

log = logging.getLogger(__name__)

# Trakt's CDN answers 403 (HTML) to calls without a User-Agent.
USER_AGENT = f"nowwatching/{__version__}"
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = {"trakt": 4.0, "tmdb": 3.0}
# A read timeout bounds each socket read, not the whole answer: an upstream that drips
# one byte every few seconds is cut off by this deadline instead.
TOTAL_DEADLINE = {"trakt": 5.0, "tmdb": 3.0}
MAX_BODY_BYTES = 1_000_000
RATE_LIMIT_KEY = "nowwatching:v1:trakt:blocked-until"

# The HTTP status each error code gives our own JSON answers.
ERROR_HTTP_STATUS = {
    "not_configured": 503,
    "private_profile": 502,
    "unauthorized": 502,
    "forbidden": 502,
    "not_found": 502,
    "account_locked": 502,
    "rate_limited": 503,
    "timeout": 504,
    "unavailable": 502,
    "bad_response": 502,
}
VIP_NOTE = (
    "Since July 2026 a Trakt API app must belong to a VIP account: create the app on a VIP "
    "account and use its client id as TRAKT_API_KEY."
)


class UpstreamError(Exception):
    """Trakt or TMDB could not give a usable answer. `code` is stable (see ERROR_HTTP_STATUS)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        service: str = "trakt",
        status: int | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.service = service
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self):
        # Errors are shared through the cache between workers, so they must pickle.
        kwargs = {"service": self.service, "status": self.status, "retry_after": self.retry_after}
        return (_rebuild_error, (self.code, self.message, kwargs))

    @property
    def http_status(self) -> int:
        return ERROR_HTTP_STATUS[self.code]

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


def _rebuild_error(code: str, message: str, kwargs: dict) -> UpstreamError:
    return UpstreamError(code, message, **kwargs)


# --- Bodies, checked at the boundary ------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _parse_time(value: str) -> str:
    """Keep Trakt's own string (the JSON contract passes it on) but refuse a non-time."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time without a zone")
    return value


class MediaIds(_Body):
    trakt: int
    slug: str | None = None
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None

    @field_validator("imdb")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        # Trakt sends "" as well as null for a missing IMDb id.
        return value or None


class Movie(_Body):
    title: str | None = None
    year: int | None = None
    ids: MediaIds


class Show(Movie):
    pass


class Episode(_Body):
    season: int
    number: int
    title: str | None = None
    ids: MediaIds


class _Playable(_Body):
    type: Literal["movie", "episode"]
    movie: Movie | None = None
    episode: Episode | None = None
    show: Show | None = None

    @model_validator(mode="after")
    def _has_its_media(self):
        if self.type == "movie" and self.movie is None:
            raise ValueError("a movie without its movie object")
        if self.type == "episode" and (self.episode is None or self.show is None):
            raise ValueError("an episode without its episode or show object")
        return self


class TraktWatching(_Playable):
    started_at: str
    expires_at: str
    # The official enum is checkin|scrobble, but clients have seen others ("watching").
    action: str = "scrobble"

    _check_times = field_validator("started_at", "expires_at")(_parse_time)


class HistoryItem(_Playable):
    watched_at: str

    _check_time = field_validator("watched_at")(_parse_time)


class Avatar(_Body):
    full: str | None = None


class ProfileImages(_Body):
    avatar: Avatar | None = None


class UserIds(_Body):
    slug: str
    trakt: int | None = None


class TraktProfile(_Body):
    username: str
    private: bool = False
    name: str | None = None
    vip: bool | None = False
    vip_ep: bool | None = False
    ids: UserIds
    joined_at: str | None = None
    location: str | None = None
    about: str | None = None
    images: ProfileImages | None = None

    @property
    def avatar_url(self) -> str | None:
        if self.images and self.images.avatar and self.images.avatar.full:
            url = self.images.avatar.full
            # Only ever hand an http(s) or site-relative address to a page.
            if url.startswith(("https://", "http://", "/")):
                return url
        return None


class _Counts(_Body):
    plays: int = 0
    watched: int = 0
    minutes: int = 0
    collected: int = 0
    ratings: int = 0
    comments: int = 0


class Network(_Body):
    friends: int = 0
    followers: int = 0
    following: int = 0


class Ratings(_Body):
    total: int = 0
    distribution: dict[str, int] = {}


class TraktStats(_Body):
    # Trakt always sends these; without them the body is not a stats answer at all.
    movies: _Counts
    shows: _Counts
    episodes: _Counts
    network: Network
    seasons: _Counts = _Counts()
    ratings: Ratings = Ratings()


class TmdbImage(_Body):
    file_path: str
    width: int = 0
    height: int = 0
    iso_639_1: str | None = None
    vote_average: float = 0.0
    vote_count: int = 0

    @field_validator("file_path")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        # The path is spliced into an image URL shown to browsers: one plain file name only.
        name = value[1:]
        if not value.startswith("/") or not name or "/" in name or ".." in name:
            raise ValueError("not a TMDB file path")
        if not all(c.isalnum() or c in "._-" for c in name):
            raise ValueError("not a TMDB file path")
        return value


class TmdbImages(_Body):
    backdrops: list[TmdbImage] = []
    posters: list[TmdbImage] = []
    stills: list[TmdbImage] = []


# --- Transport ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


_session = requests.Session()
_session.headers["User-Agent"] = USER_AGENT


def _send(service: str, base: str, path: str, params: dict, headers: dict) -> Reply:
    """The only function that does network I/O (or asks the demo data instead)."""
    if settings.DEMO_MODE:
        from profile import demo

        return demo.reply(service, path, params)

    deadline = time.monotonic() + TOTAL_DEADLINE[service]
    try:
        with _session.get(
            base + path,
            params=params,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT[service]),
            stream=True,
            allow_redirects=False,
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise _too_big(service)
            body = bytearray()
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise _too_big(service)
                if time.monotonic() > deadline:
                    raise requests.Timeout("total deadline passed")
            return Reply(response.status_code, response.headers, bytes(body))
    # Reading `response.raw` raises urllib3's own errors, not requests' wrappers.
    # Never log or pass on str(exc): it holds the URL, and TMDB's may carry api_key.
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        raise UpstreamError(
            "timeout", f"{_name(service)} did not answer in time.", service=service
        ) from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        raise UpstreamError(
            "unavailable", f"{_name(service)} could not be reached.", service=service
        ) from None


def _too_big(service: str) -> UpstreamError:
    return UpstreamError(
        "bad_response", f"{_name(service)} sent an answer too large to read.", service=service
    )


def _name(service: str) -> str:
    return {"trakt": "Trakt", "tmdb": "TMDB"}[service]


def _get(service: str, endpoint: str, base: str, path: str, params: dict, headers: dict) -> Any:
    """GET and decode JSON; `None` for an empty 204. `endpoint` names the call in logs."""
    try:
        reply = _send(service, base, path, params, headers)
        if service == "trakt":
            _note_rate_limit(reply)
        if reply.status == 204:
            return None
        if reply.status != 200:
            raise _error_for(service, reply)
        try:
            return json.loads(reply.body)
        except ValueError:
            raise UpstreamError(
                "bad_response",
                f"{_name(service)} sent an answer that is not JSON.",
                service=service,
            ) from None
    except UpstreamError as error:
        log.warning(
            "%s %s failed: %s (HTTP %s)", _name(service), endpoint, error.code, error.status or "-"
        )
        raise


def _error_for(service: str, reply: Reply) -> UpstreamError:
    status, headers = reply.status, reply.headers
    name = _name(service)

    def error(code: str, message: str, retry_after: int | None = None) -> UpstreamError:
        return UpstreamError(code, message, service=service, status=status, retry_after=retry_after)

    if status == 429:
        retry_after = _retry_after(headers)
        if service == "trakt":
            # Every worker sharing this cache stays away from Trakt until then.
            cache.set(RATE_LIMIT_KEY, time.time() + retry_after, timeout=retry_after)
        return error(
            "rate_limited",
            f"{name}'s rate limit was reached; try again in {retry_after} s.",
            retry_after,
        )
    if status >= 500:
        return error("unavailable", f"{name} is unavailable right now (HTTP {status}).")
    if service == "tmdb":
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
        return error(
            codes.get(status, "bad_response"), f"TMDB refused the request (HTTP {status})."
        )
    if status == 401:
        if headers.get("X-Private-User", "").lower() == "true":
            return error(
                "private_profile",
                "This Trakt profile is private. Set TRAKT_ACCESS_TOKEN to its owner's OAuth "
                "token to show it.",
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


def _retry_after(headers: Mapping[str, str]) -> int:
    raw = headers.get("Retry-After", "")
    try:
        return min(max(1, math.ceil(float(raw))), 3600)
    except ValueError:
        return 60


def _note_rate_limit(reply: Reply) -> None:
    # X-Ratelimit is informational on every answer; warn before the 429 arrives.
    try:
        info = json.loads(reply.headers.get("X-Ratelimit", ""))
        remaining, limit = int(info["remaining"]), int(info["limit"])
    except (ValueError, TypeError, KeyError):
        return
    if limit and remaining < limit / 10:
        log.warning("Trakt rate limit running low: %s of %s calls left", remaining, limit)


def _parse(model: type[_Body], data: Any, service: str = "trakt"):
    try:
        return model.model_validate(data)
    except ValidationError:
        raise UpstreamError(
            "bad_response",
            f"{_name(service)} sent an answer of an unexpected shape.",
            service=service,
        ) from None


# --- Trakt ----------------------------------------------------------------------------------


def _trakt(endpoint: str, path: str, params: dict | None = None) -> Any:
    if not settings.DEMO_MODE:
        if not settings.TRAKT_API_KEY:
            raise UpstreamError(
                "not_configured", "Trakt is not configured: set TRAKT_API_KEY.", retry_after=3600
            )
        blocked_until = cache.get(RATE_LIMIT_KEY)
        if blocked_until and blocked_until > time.time():
            wait = math.ceil(blocked_until - time.time())
            raise UpstreamError(
                "rate_limited",
                f"Trakt's rate limit was reached; try again in {wait} s.",
                retry_after=wait,
            )
    headers = {
        "Content-Type": "application/json",
        "trakt-api-key": settings.TRAKT_API_KEY,
        "trakt-api-version": "2",
    }
    if settings.TRAKT_ACCESS_TOKEN:
        headers["Authorization"] = f"Bearer {settings.TRAKT_ACCESS_TOKEN}"
    return _get("trakt", endpoint, settings.TRAKT_API_URL, path, params or {}, headers)


def _user(*, watching: bool = False) -> str:
    """The user path segment, already URL-quoted."""
    if settings.TRAKT_ACCESS_TOKEN and (watching or not settings.TRAKT_USERNAME):
        # With OAuth, /users/<name>/watching can answer 405; /users/me/watching works.
        return "me"
    if settings.TRAKT_USERNAME:
        return quote(settings.TRAKT_USERNAME, safe="")
    if settings.DEMO_MODE:
        return "demo"
    raise UpstreamError(
        "not_configured",
        "Trakt is not configured: set TRAKT_USERNAME (or TRAKT_ACCESS_TOKEN).",
        retry_after=3600,
    )


def trakt_watching() -> TraktWatching | None:
    """What the user plays right now, or None (Trakt answers 204)."""
    # Reference: https://trakt.docs.apiary.io/#reference/users/watching
    data = _trakt("watching", f"/users/{_user(watching=True)}/watching")
    return None if data is None else _parse(TraktWatching, data)


def trakt_profile() -> TraktProfile:
    # Reference: https://trakt.docs.apiary.io/#reference/users/profile
    # `images` is documented under both `full` and `images`; ask for both.
    data = _trakt("profile", f"/users/{_user()}", {"extended": "full,images"})
    return _parse(TraktProfile, data)


def trakt_stats() -> TraktStats:
    # Reference: https://trakt.docs.apiary.io/#reference/users/stats
    return _parse(TraktStats, _trakt("stats", f"/users/{_user()}/stats"))


def trakt_last_watched() -> HistoryItem | None:
    # Reference: https://trakt.docs.apiary.io/#reference/users/history
    data = _trakt("history", f"/users/{_user()}/history", {"limit": 1})
    if data is None or data == []:
        return None
    if not isinstance(data, list):
        raise UpstreamError("bad_response", "Trakt sent an answer of an unexpected shape.")
    return _parse(HistoryItem, data[0])


# --- TMDB -----------------------------------------------------------------------------------


def _tmdb(endpoint: str, path: str) -> TmdbImages:
    # Without include_image_language, a language filter can leave backdrops empty.
    params: dict[str, Any] = {"include_image_language": "en,null"}
    headers = {"Accept": "application/json"}
    if settings.TMDB_READ_ACCESS_TOKEN:
        headers["Authorization"] = f"Bearer {settings.TMDB_READ_ACCESS_TOKEN}"
    elif settings.TMDB_API_KEY:
        params["api_key"] = settings.TMDB_API_KEY
    elif not settings.DEMO_MODE:
        raise UpstreamError(
            "not_configured",
            "TMDB is not configured: set TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN.",
            service="tmdb",
        )
    data = _get("tmdb", endpoint, settings.TMDB_API_URL, path, params, headers)
    return _parse(TmdbImages, data, "tmdb")


def tmdb_images(kind: Literal["movie", "tv"], tmdb_id: int) -> TmdbImages:
    """Backdrops and posters of a movie or a show (for an episode: the show's TMDB id)."""
    # Reference: https://developer.themoviedb.org/reference/movie-images
    return _tmdb(f"{kind} images", f"/{kind}/{int(tmdb_id)}/images")


def tmdb_episode_images(show_id: int, season: int, number: int) -> TmdbImages:
    """An episode's stills, addressed by the show's TMDB id, not the episode's own."""
    # Reference: https://developer.themoviedb.org/reference/tv-episode-images
    path = f"/tv/{int(show_id)}/season/{int(season)}/episode/{int(number)}/images"
    return _tmdb("episode images", path)


def image_url(size: str, file_path: str) -> str:
    """`{TMDB_IMAGE_URL}/{size}{file_path}`; demo images are our own static files."""
    return f"{_image_base()}/{size}{file_path}"


def _image_base() -> str:
    return f"{settings.STATIC_URL}demo" if settings.DEMO_MODE else settings.TMDB_IMAGE_URL


# Raster types TMDB serves, and SVG for the demo's own artwork. Inside an SVG <image> an
# SVG runs in the browser's secure image mode: no script, no external loads.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/svg+xml")


@dataclass(frozen=True)
class ImageBytes:
    content_type: str
    data: bytes


def tmdb_image(url: str) -> ImageBytes:
    """The bytes of an image URL made by `image_url()`, for inlining (the SVG card)."""
    base = _image_base()
    if not url.startswith(base + "/"):
        # Only our own image addresses are ever fetched, never one spliced from elsewhere.
        raise UpstreamError("bad_response", "Not a TMDB image address.", service="tmdb")
    try:
        reply = _send("tmdb", base, url[len(base) :], {}, {"Accept": ", ".join(IMAGE_TYPES)})
        if reply.status != 200:
            raise _error_for("tmdb", reply)
        content_type = reply.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in IMAGE_TYPES or not reply.body:
            raise UpstreamError(
                "bad_response", "TMDB sent something that is not an image.", service="tmdb"
            )
    except UpstreamError as error:
        log.warning("TMDB image failed: %s (HTTP %s)", error.code, error.status or "-")
        raise
    return ImageBytes(content_type, reply.body)
