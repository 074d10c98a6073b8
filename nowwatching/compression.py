"""Text answers compressed for clients that accept it: Django's GZipMiddleware, which leaves
alone answers under 200 bytes, answers already encoded, and here images other than SVG
(a PNG or a JPEG is compressed already; gzip would cost CPU for nothing).

In settings.MIDDLEWARE it sits outside ConditionalGetMiddleware, so the ETag is the
uncompressed body's (made weak once compressed, as RFC 9110 asks) and an If-None-Match
revalidates whichever encoding the client took. Static files are WhiteNoise's business (it
serves them pre-compressed), outside this. SECURITY.md says why BREACH is no concern here.

Each process keeps the last few bodies it compressed, by their ETag (128 bits of SHA-256:
the body itself, for this purpose): gzip costs about a third of the profile page's CPU time
(0.85 ms for its 82 KB), and the same page, or /api/watching's body of the second, goes to
every visitor until the mirror or the clock moves it.
"""

import threading

from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers

KEEP = 32  # compressed bodies per process, the oldest dropped first (about 10 KB each)

_kept: dict[str, bytes] = {}
_lock = threading.Lock()


def _remember(etag: str, compressed: bytes) -> None:
    with _lock:
        _kept[etag] = compressed
        while len(_kept) > KEEP:
            del _kept[next(iter(_kept))]


class GZipMiddleware(DjangoGZipMiddleware):
    def process_response(self, request, response):
        content_type = response.get("Content-Type", "")
        if content_type.startswith("image/") and not content_type.startswith("image/svg"):
            return response
        etag = response.get("ETag", "")
        if not etag.startswith('"') or response.streaming or response.status_code != 200:
            return super().process_response(request, response)
        kept = _kept.get(etag)
        accepted = re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if kept is None or not accepted or response.has_header("Content-Encoding"):
            response = super().process_response(request, response)
            if response.get("Content-Encoding") == "gzip":
                _remember(etag, response.content)
            return response
        # What Django's middleware does with a body it compressed, the body taken as kept.
        patch_vary_headers(response, ("Accept-Encoding",))
        response.content = kept
        response.headers["Content-Length"] = str(len(kept))
        response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
