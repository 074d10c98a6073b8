"""Text answers compressed for clients that accept it: Django's GZipMiddleware, which leaves
alone answers under 200 bytes, answers already encoded, and here images other than SVG
(a PNG or a JPEG is compressed already; gzip would cost CPU for nothing).

In settings.MIDDLEWARE it sits outside ConditionalGetMiddleware, so the ETag is the
uncompressed body's (made weak once compressed, as RFC 9110 asks) and an If-None-Match
revalidates whichever encoding the client took. Static files are WhiteNoise's business (it
serves them pre-compressed), outside this. SECURITY.md says why BREACH is no concern here.
"""

from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware


class GZipMiddleware(DjangoGZipMiddleware):
    def process_response(self, request, response):
        content_type = response.get("Content-Type", "")
        if content_type.startswith("image/") and not content_type.startswith("image/svg"):
            return response
        return super().process_response(request, response)
