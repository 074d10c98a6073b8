"""TMDB's API: artwork of movies, shows and episodes. Credentials are arguments.

Reference: https://developer.themoviedb.org/ (condensed, with sources, in
shared/reference/upstream-apis.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.conf import settings

from profile.client.errors import UpstreamError, log_failure
from profile.client.http import Reply, decode_json, parse, retry_after_seconds, send
from profile.client.images import ImageBytes, checked
from profile.client.schemas import TmdbDetails, TmdbImage, TmdbImages

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class TmdbAuth:
    """A read-access token (sent as a Bearer header, preferred) or a v3 API key."""

    read_access_token: str | None = None
    api_key: str | None = None

    def apply(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        if self.read_access_token:
            headers["Authorization"] = f"Bearer {self.read_access_token}"
        elif self.api_key:
            params["api_key"] = self.api_key
        elif not settings.DEMO_MODE:
            raise UpstreamError(
                "not_configured",
                "TMDB is not configured: set TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN.",
                service="tmdb",
            )


def error_for(reply: Reply) -> UpstreamError:
    status = reply.status
    if status == 429:
        wait = retry_after_seconds(reply.headers)
        return UpstreamError(
            "rate_limited",
            f"TMDB's rate limit was reached; try again in {wait} s.",
            service="tmdb",
            status=status,
            retry_after=wait,
        )
    if status >= 500:
        return UpstreamError(
            "unavailable",
            f"TMDB is unavailable right now (HTTP {status}).",
            service="tmdb",
            status=status,
        )
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return UpstreamError(
        codes.get(status, "bad_response"),
        f"TMDB refused the request (HTTP {status}).",
        service="tmdb",
        status=status,
    )


def _get(auth: TmdbAuth, endpoint: str, path: str, model: type[T], params: dict[str, Any]) -> T:
    headers = {"Accept": "application/json"}
    try:
        auth.apply(params, headers)
        reply = send("tmdb", "GET", settings.TMDB_API_URL, path, params=params, headers=headers)
        if reply.status != 200:
            raise error_for(reply)
        return parse(model, decode_json("tmdb", reply), "tmdb")
    except UpstreamError as error:
        log_failure(log, f"TMDB {endpoint}", error, settings.TMDB_API_URL, "TMDB_API_URL")
        raise


def _images(auth: TmdbAuth, endpoint: str, path: str) -> TmdbImages:
    # Without include_image_language, a language filter can leave backdrops empty.
    return _get(auth, endpoint, path, TmdbImages, {"include_image_language": "en,null"})


def details(auth: TmdbAuth, kind: Literal["movie", "tv"], tmdb_id: int) -> TmdbDetails:
    """A movie's or a show's runtime and genres (what Trakt's data export leaves out)."""
    # Reference: https://developer.themoviedb.org/reference/movie-details
    # Reference: https://developer.themoviedb.org/reference/tv-series-details
    return _get(auth, f"{kind} details", f"/{kind}/{int(tmdb_id)}", TmdbDetails, {})


def images(auth: TmdbAuth, kind: Literal["movie", "tv"], tmdb_id: int) -> TmdbImages:
    """Backdrops and posters of a movie or a show (for an episode: the show's TMDB id)."""
    # Reference: https://developer.themoviedb.org/reference/movie-images
    return _images(auth, f"{kind} images", f"/{kind}/{int(tmdb_id)}/images")


def episode_images(auth: TmdbAuth, show_id: int, season: int, number: int) -> TmdbImages:
    """An episode's stills, addressed by the show's TMDB id, not the episode's own."""
    # Reference: https://developer.themoviedb.org/reference/tv-episode-images
    path = f"/tv/{int(show_id)}/season/{int(season)}/episode/{int(number)}/images"
    return _images(auth, "episode images", path)


def image_url(size: str, file_path: str) -> str:
    """`{TMDB_IMAGE_URL}/{size}{file_path}`; demo images are our own static files."""
    return f"{image_base()}/{size}{file_path}"


def image_base() -> str:
    return f"{settings.STATIC_URL}demo" if settings.DEMO_MODE else settings.TMDB_IMAGE_URL


# Raster types TMDB serves, and SVG for the demo's own artwork. Inside an SVG <image> an
# SVG runs in the browser's secure image mode: no script, no external loads.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/svg+xml")


def image(url: str) -> ImageBytes:
    """The bytes of an image URL made by `image_url()`, for inlining (the SVG card)."""
    base = image_base()
    if not url.startswith(base + "/"):
        # Only our own image addresses are ever fetched, never one spliced from elsewhere.
        raise UpstreamError("bad_response", "Not a TMDB image address.", service="tmdb")
    try:
        reply = send(
            "tmdb", "GET", base, url[len(base) :], headers={"Accept": ", ".join(IMAGE_TYPES)}
        )
        if reply.status != 200:
            raise error_for(reply)
        return checked("tmdb", reply, IMAGE_TYPES)
    except UpstreamError as error:
        log_failure(log, "TMDB image", error, base, "TMDB_IMAGE_URL")
        raise


def best_image(candidates: list[TmdbImage]) -> TmdbImage | None:
    """No language first (no baked-in text), then English, then votes, then width."""

    def rank(image: TmdbImage):
        language = 0 if image.iso_639_1 is None else 1 if image.iso_639_1 == "en" else 2
        return (language, -image.vote_average, -image.width)

    return min(candidates, key=rank, default=None)
