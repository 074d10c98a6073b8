"""The client's one error type, with stable codes that our own answers pass on."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

# The HTTP status each error code gives our own JSON answers (API_DOCUMENTATION.md).
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
    # The owner's sign-in was refused at renewal: they must run `manage.py trakt_login` again.
    "signed_out": 502,
}
VIP_NOTE = (
    "Since July 2026 a Trakt API app must belong to a VIP account: create the app on a VIP "
    "account and use its client id as TRAKT_API_KEY."
)
SERVICE_NAMES = {
    "trakt": "Trakt",
    "trakt-auth": "Trakt",
    "tmdb": "TMDB",
    "avatar": "The avatar's host",
}


def service_name(service: str) -> str:
    return SERVICE_NAMES[service]


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


def where(error: UpstreamError, base_url: str, setting: str) -> str:
    """The end of a failure's log line: the host asked (never a user, key, path or query), and
    when it could not be reached at all, the setting that names it."""
    if error.code == "not_configured":
        return ""
    parts = urlsplit(base_url)
    host = str(parts.hostname)
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        host = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a port that is not a number
        pass
    if error.status is None and error.code in ("timeout", "unavailable"):
        return f" at {host}; check {setting}"
    return f" at {host}"


def bad_response(service: str, what: str = "an answer of an unexpected shape") -> UpstreamError:
    return UpstreamError("bad_response", f"{service_name(service)} sent {what}.", service=service)


def log_failure(log: logging.Logger, call: str, error: UpstreamError, base_url: str, setting: str):
    """The one warning line a failed call leaves: what was asked, the code, the HTTP status,
    and where (`where()`)."""
    log.warning(
        "%s failed: %s (HTTP %s)%s",
        call,
        error.code,
        error.status or "-",
        where(error, base_url, setting),
    )
