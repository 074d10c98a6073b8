"""Trakt's OAuth endpoints (device code, device token, refresh, revoke): one function per call.

Every call is `POST {TRAKT_AUTH_URL}/oauth/...` through `http.send("trakt-auth", ...)`. The
app's credentials and the tokens are arguments: this module reads none from settings or the
database, and never logs a token or a body (a body may hold one).

Reference: https://trakt.docs.apiary.io/#reference/authentication-devices (condensed, with
sources, in shared/reference/upstream-apis.md, sections 3 and 6). Since July 2026 these
endpoints live on https://auth.trakt.tv, not on the API host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings

from profile.client.errors import VIP_NOTE, UpstreamError
from profile.client.http import Reply, decode_json, parse, retry_after_seconds, send
from profile.client.schemas import DeviceCode, OAuthError, TokenPair

log = logging.getLogger(__name__)

# Device-flow apps are created with this redirect URI; the token endpoint asks for it.
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
# Small answers only: a token pair is a few hundred bytes.
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class App:
    """The Trakt API app: its client id (TRAKT_API_KEY) and secret (TRAKT_CLIENT_SECRET)."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never print the secret, even in a traceback's locals
        return f"App(client_id={self.client_id!r}, client_secret=...)"


DeviceStatus = Literal["approved", "pending", "slow_down", "invalid", "used", "expired", "denied"]
# What the device-token poll's statuses mean (Trakt's documentation, "Poll for the access_token").
DEVICE_STATUSES: dict[int, DeviceStatus] = {
    400: "pending",
    404: "invalid",
    409: "used",
    410: "expired",
    418: "denied",
    429: "slow_down",
}


@dataclass(frozen=True)
class DevicePoll:
    status: DeviceStatus
    tokens: TokenPair | None = None  # with "approved"


def device_code(client_id: str) -> DeviceCode:
    """Start the device flow: a code for the owner to enter at Trakt's activation page."""
    reply = _post("device code", "/oauth/device/code", {"client_id": client_id})
    if reply.status != 200:
        raise _error_for(reply)
    return parse(DeviceCode, decode_json("trakt-auth", reply), "trakt-auth")


def poll_device_token(app: App, code: str) -> DevicePoll:
    """One poll of the device flow: approved (with the tokens), or why not yet, or never."""
    body = {"code": code, "client_id": app.client_id, "client_secret": app.client_secret}
    reply = _post("device token", "/oauth/device/token", body, quiet=DEVICE_STATUSES)
    if reply.status == 200:
        return DevicePoll(
            "approved", parse(TokenPair, decode_json("trakt-auth", reply), "trakt-auth")
        )
    if reply.status in DEVICE_STATUSES:
        # The body of these (a 400 above all) is not reliably JSON: the status says it all.
        return DevicePoll(DEVICE_STATUSES[reply.status])
    raise _error_for(reply)


def refresh(app: App, refresh_token: str) -> TokenPair:
    """A new pair for the refresh token, which Trakt retires as it answers (single use).

    Raises UpstreamError `signed_out` when Trakt refuses the grant (`invalid_grant`, with 400
    or 401: revoked, used already, or issued before Trakt's July 2026 auth migration).
    """
    body = {
        "refresh_token": refresh_token,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": REDIRECT_URI,
        "grant_type": "refresh_token",
    }
    reply = _post("token refresh", "/oauth/token", body)
    if reply.status == 200:
        return parse(TokenPair, decode_json("trakt-auth", reply), "trakt-auth")
    raise _error_for(reply)


def revoke(app: App, token: str) -> None:
    """Revoke an access token (and the refresh token issued with it) at Trakt."""
    body = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret}
    reply = _post("revoke", "/oauth/revoke", body)
    if reply.status not in (200, 204):
        raise _error_for(reply)


# --- Plumbing -----------------------------------------------------------------------------------


def _post(what: str, path: str, body: dict[str, Any], quiet=()) -> Reply:
    try:
        reply = send(
            "trakt-auth",
            "POST",
            settings.TRAKT_AUTH_URL,
            path,
            json_body=body,
            headers={"Content-Type": "application/json"},
            max_bytes=MAX_BYTES,
        )
    except UpstreamError as error:
        log.warning("Trakt %s failed: %s", what, error.code)
        raise
    if reply.status not in (200, 204, *quiet):
        # The status only: the body may echo what was sent.
        log.warning("Trakt %s failed: HTTP %s", what, reply.status)
    return reply


def oauth_error(reply: Reply) -> str | None:
    """The `error` of a refusal (`invalid_grant`, ...), or None when the body has none."""
    try:
        return parse(OAuthError, decode_json("trakt-auth", reply), "trakt-auth").error
    except UpstreamError:
        return None


SIGNED_OUT_MESSAGE = (
    "Trakt ended the site owner's sign-in (it refused to renew the token): the owner must "
    "sign in again with `manage.py trakt_login`."
)


def _error_for(reply: Reply) -> UpstreamError:
    status = reply.status

    def error(code: str, message: str, retry_after: int | None = None) -> UpstreamError:
        return UpstreamError(
            code, message, service="trakt-auth", status=status, retry_after=retry_after
        )

    if status in (400, 401):
        reason = oauth_error(reply)
        if reason == "invalid_grant":
            return error("signed_out", SIGNED_OUT_MESSAGE)
        if reason == "invalid_client" or status == 401:
            return error(
                "unauthorized",
                f"Trakt's sign-in service refused the app (HTTP {status}): check TRAKT_API_KEY "
                "and TRAKT_CLIENT_SECRET.",
            )
        return error(
            "bad_response", f"Trakt's sign-in service refused the request (HTTP {status})."
        )
    if status == 429:
        wait = retry_after_seconds(reply.headers)
        return error("rate_limited", f"Trakt's sign-in service asks to wait {wait} s.", wait)
    if status in (403, 426):
        return error("forbidden", f"Trakt refused this API app (HTTP {status}). {VIP_NOTE}")
    if status >= 500:
        return error("unavailable", f"Trakt's sign-in service is unavailable (HTTP {status}).")
    return error("bad_response", f"Trakt's sign-in service answered HTTP {status}.")
