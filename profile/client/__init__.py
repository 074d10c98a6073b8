"""The one client for Trakt and TMDB, shared by every view, command and job.

- `http.py`: the one outbound chokepoint (`send()`): timeouts, a total deadline, a size cap,
  any method, headers handed back; demo mode answers there.
- `errors.py`: the one error type, `UpstreamError`, with stable codes.
- `schemas.py`: the pydantic models every body is checked into at the boundary.
- `trakt.py`, `tmdb.py`: one function per call; credentials and user are arguments.
- `images.py`: images the site serves or inlines, checked to be what they say (the card's
  artwork, the owner's avatar from whatever host Trakt names, public addresses only).
- `oauth.py`: Trakt's sign-in host (device flow, renewal, revocation); the app's credentials
  and the tokens are arguments. `profile.signin` keeps and renews the tokens.
"""

from profile.client.errors import ERROR_HTTP_STATUS, UpstreamError
from profile.client.images import ImageBytes
from profile.client.schemas import (
    HistoryItem,
    TmdbImage,
    TmdbImages,
    TraktProfile,
    TraktStats,
    TraktWatching,
)
from profile.client.tmdb import TmdbAuth, image_url
from profile.client.trakt import TraktAuth

__all__ = [
    "ERROR_HTTP_STATUS",
    "HistoryItem",
    "ImageBytes",
    "TmdbAuth",
    "TmdbImage",
    "TmdbImages",
    "TraktAuth",
    "TraktProfile",
    "TraktStats",
    "TraktWatching",
    "UpstreamError",
    "image_url",
]
