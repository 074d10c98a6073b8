"""The one outbound chokepoint: every call to Trakt or TMDB goes through `send()`.

One `requests.Session` (a User-Agent on every call: Trakt's CDN answers 403 without one),
a (connect, read) timeout, a total deadline and a cap on the body size. Any method, an
optional JSON body, and the answer's status, headers and body handed back as a `Reply`.
Transport failures become `UpstreamError` (timeout, unavailable); what a status means is
the caller's business (`trakt.py`, `tmdb.py`).

In demo mode `send()` answers from `profile.demo` instead of the network, so everything
above the HTTP layer (status handling, parsing, caching, the sync) runs as in production.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
import requests
import urllib3
from django.conf import settings
from pydantic import BaseModel, ValidationError

from nowwatching import __version__
from profile.client.errors import UpstreamError, bad_response, service_name

USER_AGENT = f"nowwatching/{__version__}"
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = {"trakt": 4.0, "trakt-auth": 4.0, "tmdb": 3.0}
# A read timeout bounds each socket read, not the whole answer: an upstream that drips
# one byte every few seconds is cut off by this deadline instead.
TOTAL_DEADLINE = {"trakt": 5.0, "trakt-auth": 5.0, "tmdb": 3.0}
MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive from requests
    body: bytes = b""


_session = requests.Session()
_session.headers["User-Agent"] = USER_AGENT


def send(
    service: str,
    method: str,
    base: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Reply:
    """The only function that does network I/O (or asks the demo data instead)."""
    if settings.DEMO_MODE:
        from profile import demo

        return demo.reply(service, method, path, dict(params or {}), json_body)

    deadline = time.monotonic() + TOTAL_DEADLINE[service]
    try:
        with _session.request(
            method,
            base + path,
            params=params,
            json=json_body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT[service]),
            stream=True,
            allow_redirects=False,
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(service)
            body = bytearray()
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(service)
                if time.monotonic() > deadline:
                    raise requests.Timeout("total deadline passed")
            return Reply(response.status_code, response.headers, bytes(body))
    # Reading `response.raw` raises urllib3's own errors, not requests' wrappers.
    # Never log or pass on str(exc): it holds the URL, and TMDB's may carry api_key.
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        raise UpstreamError(
            "timeout", f"{service_name(service)} did not answer in time.", service=service
        ) from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        raise UpstreamError(
            "unavailable", f"{service_name(service)} could not be reached.", service=service
        ) from None


def _too_big(service: str) -> UpstreamError:
    return bad_response(service, "an answer too large to read")


# A \\uXXXX escape of a UTF-16 surrogate, as a valid pair or alone, not itself escaped.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)"
    rb"(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)


def decode_json(service: str, reply: Reply) -> Any:
    """The body as JSON, decoded within limits; `bad_response` when it is not JSON.

    pydantic's decoder (not the json module) refuses nesting deeper than 200 levels, which
    would otherwise end in a RecursionError; NaN and Infinity are not JSON either. A lone
    surrogate (a string no page can encode) would make it refuse the whole body: it becomes
    U+FFFF instead, which the schemas' text fields refuse, so only that field fails.
    """
    body = reply.body
    if b"\\u" in body:
        body = _SURROGATE_ESCAPE.sub(_mark_lone_surrogate, body)
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        raise bad_response(service, "an answer that is not JSON") from None


def _mark_lone_surrogate(match: re.Match) -> bytes:
    escape = match[2]
    return match[1] + (escape if len(escape) == 12 else rb"\uffff")


def parse(model: type[BaseModel], data: Any, service: str = "trakt"):
    """`data` checked into `model`; a body of another shape is `bad_response`."""
    try:
        return model.model_validate(data)
    except ValidationError:
        raise bad_response(service) from None


def retry_after_seconds(headers: Mapping[str, str]) -> int:
    """`Retry-After` in whole seconds, within 1 s to 1 h; 60 when it is missing or nonsense."""
    raw = headers.get("Retry-After", "")
    try:
        return min(max(1, math.ceil(float(raw))), 3600)
    except (ValueError, OverflowError):
        return 60


def header_int(
    headers: Mapping[str, str], name: str, *, low: int = 0, high: int = 10**9
) -> int | None:
    """An integer header (`X-Pagination-Page`, ...) within [low, high]; None when it is
    missing or nonsense (a sign, a fraction, a thousand digits)."""
    raw = headers.get(name, "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    value = int(raw)
    return value if low <= value <= high else None
