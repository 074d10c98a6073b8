"""The owner's avatar, served from the site's own address (/avatar), whatever host Trakt
names for it: the page's Content-Security-Policy then lets images come from the site and
TMDB only, not from the whole web. Fetched through the one client (`client.images.avatar`),
kept a day (a week while its host fails), one fetch for all processes (`live/cache.py`)."""

from __future__ import annotations

import hashlib

from profile.client import ImageBytes, TraktProfile, UpstreamError
from profile.client.images import avatar
from profile.live.answers import KEEP_LAST_GOOD_SECONDS, peek_profile
from profile.live.cache import through_cache

AVATAR_SECONDS = 24 * 60 * 60


def version(url: str) -> str:
    """A short fingerprint of the avatar's address: a new avatar is a new URL for browsers."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def on_site(profile: TraktProfile) -> str | None:
    """Where the page finds the avatar: the site's own file as it is (the demo's), else
    /avatar, versioned by the address it stands for; None without an avatar."""
    url = profile.avatar_url
    if url is None or url.startswith("/"):
        return url
    return f"/avatar?v={version(url)}"


def avatar_image() -> ImageBytes | None:
    """The kept profile's avatar, fetched the first time it is asked for; None when there is
    no profile kept (never asked for here), no avatar, or its host gave no usable image."""
    profile = peek_profile()
    url = profile.avatar_url if profile is not None else None
    if url is None or url.startswith("/"):
        return None  # nothing to fetch: the site's own file is served as a static file
    try:
        kept = through_cache(
            f"avatar:{version(url)}",
            lambda: avatar(url),
            fresh_for=AVATAR_SECONDS,
            keep_for=lambda value: KEEP_LAST_GOOD_SECONDS,
        )
    except UpstreamError:
        return None
    return kept.value
