"""Images the site fetches to serve or inline: TMDB's artwork for the card (`tmdb.image`) and
the owner's avatar (`avatar`), from whatever host Trakt names for it (its own, or Gravatar for
an owner who uploaded none), so that the page's images all come from the site's own origin.

An image is what it says it is: a status 200, a content type among the allowed ones, a body
that is not empty, under a size cap; an avatar's first bytes must also be those of its type
(the page serves it from the site's origin). An avatar is fetched only from a public address
(checked at the connected socket, so no name resolving to this machine or its network, now
or by the time it connects, makes the site fetch from there), unless its host is one the
operator configured (TRAKT_API_URL, TMDB_*: the tests' fake Trakt is on loopback).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from profile.client.errors import UpstreamError, bad_response, where
from profile.client.http import Reply, send

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageBytes:
    content_type: str
    data: bytes


def checked(service: str, reply: Reply, types: tuple[str, ...]) -> ImageBytes:
    """The reply's image, if it is one of `types`; else `bad_response`."""
    content_type = reply.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if reply.status == 200 and content_type in types and reply.body:
        return ImageBytes(content_type, reply.body)
    if reply.status != 200:
        raise UpstreamError(
            "unavailable" if reply.status >= 500 else "not_found",
            f"The image was answered with HTTP {reply.status}.",
            service=service,
            status=reply.status,
        )
    raise bad_response(service, "something that is not an image")


# The raster types an avatar may be, by their first bytes (an SVG may hold script: never).
AVATAR_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
# Trakt's and Gravatar's avatars are some kilobytes (256 px at most).
AVATAR_MAX_BYTES = 512 * 1024


def avatar(url: str) -> ImageBytes:
    """The owner's avatar at `url` (an http(s) address from Trakt's profile)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_response("avatar", "an avatar address that is not one")
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        reply = send(
            "avatar",
            "GET",
            base,
            url[len(base) :] or "/",
            headers={"Accept": ", ".join(AVATAR_TYPES)},
            max_bytes=AVATAR_MAX_BYTES,
            public_only=parts.hostname not in _configured_hosts(),
        )
        image = checked("avatar", reply, tuple(AVATAR_TYPES))
        if not image.data.startswith(AVATAR_TYPES[image.content_type]) or (
            image.content_type == "image/webp" and image.data[8:12] != b"WEBP"
        ):
            raise bad_response("avatar", f"something that is not the {image.content_type} it says")
    except UpstreamError as error:
        # The host only, as for every upstream: never the path (Gravatar's holds a hash).
        log.warning(
            "The avatar could not be fetched: %s (HTTP %s)%s",
            error.code,
            error.status or "-",
            where(error, base, "the profile's avatar on Trakt"),
        )
        raise
    return image


def _configured_hosts() -> set[str | None]:
    urls = (settings.TRAKT_API_URL, settings.TMDB_API_URL, settings.TMDB_IMAGE_URL)
    return {urlsplit(url).hostname for url in urls}
