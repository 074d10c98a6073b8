"""POST /hooks/<server>/<token>: the media servers' webhooks (profile/live/webhooks.py).

Thin: the address and the method (anything wrong is the site's plain 404, as for an address
that does not exist), the rate limit, the body read within its cap and taken out of its
multipart wrapping, then one service call. CSRF protection is off here alone: the servers
post without a session, and the token in the address is the credential.
"""

from __future__ import annotations

from io import BytesIO

from django.http import JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from profile.errors import API_ERRORS, page_not_found
from profile.live import webhooks
from profile.live.sources import BadPayload

# The multipart field that holds the JSON: Plex's `payload`, Emby's `data`.
FORM_FIELDS = {"plex": "payload", "emby": "data"}


@csrf_exempt
def hook(request, server: str, token: str):
    if request.method != "POST" or not webhooks.exists(server, token):
        return page_not_found(request)
    wait = webhooks.wait_seconds(server)
    if wait is not None:
        response = _error("too_many_requests", f"Too many requests; try again in {wait} s.")
        response["Retry-After"] = str(wait)
        return response
    try:
        body = _json_of(request, server)
        outcome = webhooks.receive(server, body)
    except _TooLarge:
        limit = webhooks.MAX_BODY_BYTES[server]
        return _error("payload_too_large", f"The body is larger than {limit:,} bytes.")
    except BadPayload as bad:
        return _error("bad_request", str(bad), status=400)
    return JsonResponse(outcome.as_json(), status=202)


class _TooLarge(Exception):
    pass


def _json_of(request, server: str) -> bytes:
    """The webhook's JSON: the whole body, or the form field a multipart body holds it in
    (a Plex thumbnail beside it is read past, never kept)."""
    limit = webhooks.MAX_BODY_BYTES[server]
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    data = bytearray()
    while chunk := request.read(min(65536, limit + 1 - len(data))):
        data += chunk
        if len(data) > limit:
            raise _TooLarge
    if request.content_type != "multipart/form-data":
        return bytes(data)
    field = FORM_FIELDS.get(server)
    try:
        # No upload handlers: file parts (the thumbnail) are parsed past and dropped.
        fields, _ = MultiPartParser(request.META, BytesIO(data), [], request.encoding).parse()
    except MultiPartParserError:
        raise BadPayload("The multipart body could not be read.") from None
    if field is None or field not in fields:
        raise BadPayload(f"The multipart body has no {field or 'JSON'} field.")
    return fields[field].encode()


def _error(code: str, message: str, status: int | None = None) -> JsonResponse:
    status = status or API_ERRORS[code]
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)
