"""Whose credentials every Trakt call uses: from a view, a command or a job, they come from
`credentials()` (or `as_owner()`), in this order:

1. the sign-in stored here by `manage.py trakt_login` (the owner's `me` paths), renewed when due;
2. else TRAKT_ACCESS_TOKEN (also `me`): a token the site cannot renew;
3. else the public profile of TRAKT_USERNAME (or of the signed-out owner's slug).

Signed out: when Trakt refuses the refresh token (`invalid_grant`), or the tokens cannot be
decrypted (SECRET_KEY changed), the row is marked signed out, one error is logged, and the
site stops using it: calls fall back to (2) and (3), and where those cannot stand in for the
owner (a private profile), answer the error code `signed_out`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from profile.client import TmdbAuth, TraktAuth, UpstreamError
from profile.client.oauth import SIGNED_OUT_MESSAGE
from profile.models import TraktToken
from profile.signin import renewal
from profile.signin.storage import load, token_in

T = TypeVar("T")

# A token refused (401) this soon after it was issued is not refused for its age: renewing it
# again would only spend refresh tokens in a loop.
FRESH_TOKEN = timedelta(minutes=1)


@dataclass(frozen=True)
class Credentials:
    """What a Trakt call is made with, and about whom.

    `source` is "signed_in" (the stored sign-in), "environment" (TRAKT_ACCESS_TOKEN), "public"
    (no token) or "demo". `signed_out` says the stored sign-in was ended, and these are what is
    left.
    """

    auth: TraktAuth
    user: str
    source: str
    generation: int | None = None
    signed_out: bool = False
    # Whose data it is: `user`, or for "me" the slug Trakt gave at sign-in (else
    # TRAKT_USERNAME, else "me"). The same person signed in or not is the same mirror.
    person: str = ""

    def __repr__(self) -> str:  # the auth holds the token: never in a repr
        return f"Credentials(user={self.user!r}, source={self.source!r})"


def credentials() -> Credentials:
    """The credentials every Trakt call uses right now, renewing the stored token if it is due.

    Waits at most WAIT_SECONDS for another caller's renewal. Raises UpstreamError when there
    are none to use (`not_configured`, `signed_out`, or the renewal's own failure once the
    token has expired).
    """
    if settings.DEMO_MODE:
        user = settings.TRAKT_USERNAME or "demo"
        return Credentials(TraktAuth(settings.TRAKT_API_KEY), user, "demo", person=user)
    row = load()
    if row is not None and not row.signed_out and timezone.now() >= renewal.renewal_due_at(row):
        try:
            row = renewal.renewed_row(row, refused=False)
        except DatabaseError as error:
            row = renewal.old_if_usable(row, False, renewal.database_error(error))
    return _from_row(row)


def as_owner(call: Callable[[TraktAuth, str], T]) -> T:
    """`call(auth, user)` with the current credentials. When Trakt answers 401 to the stored
    token, it is renewed once and the call made once more."""
    used = credentials()
    try:
        return call(used.auth, used.user)
    except UpstreamError as error:
        if error.status != 401 or used.source != "signed_in":
            raise _explained(error, used) from None
        retry = _after_refusal(used, error)
    try:
        return call(retry.auth, retry.user)
    except UpstreamError as error:
        raise _explained(error, retry) from None


def signed_out_error() -> UpstreamError:
    return UpstreamError("signed_out", SIGNED_OUT_MESSAGE)


def _from_row(row: TraktToken | None) -> Credentials:
    if row is not None and not row.signed_out:
        token = token_in(row)
        if token is not None:
            auth = TraktAuth(settings.TRAKT_API_KEY, token)
            person = row.user_slug or settings.TRAKT_USERNAME or "me"
            return Credentials(auth, "me", "signed_in", row.generation, person=person)
        row = load()  # unreadable: now marked signed out
    signed_out = row is not None
    if settings.TRAKT_ACCESS_TOKEN:
        # With a token, /users/<name>/watching can answer 405; /users/me/... works.
        auth = TraktAuth(settings.TRAKT_API_KEY, settings.TRAKT_ACCESS_TOKEN)
        person = settings.TRAKT_USERNAME or "me"
        return Credentials(auth, "me", "environment", signed_out=signed_out, person=person)
    user = settings.TRAKT_USERNAME or (row.user_slug if row is not None else "")
    if user:
        auth = TraktAuth(settings.TRAKT_API_KEY)
        return Credentials(auth, user, "public", signed_out=signed_out, person=user)
    if signed_out:
        raise signed_out_error()
    raise UpstreamError(
        "not_configured",
        "Trakt is not configured: set TRAKT_USERNAME, or sign in with `manage.py trakt_login`.",
        retry_after=3600,
    )


def _explained(error: UpstreamError, used: Credentials) -> UpstreamError:
    """While signed out, Trakt's refusals of what is left mean: the owner must sign in."""
    if used.signed_out and error.code in ("private_profile", "unauthorized"):
        return signed_out_error()
    return error


def _after_refusal(used: Credentials, error: UpstreamError) -> Credentials:
    """The credentials to try again with after Trakt answered 401 to the stored token."""
    row = load()
    if row is None or row.signed_out or row.generation != used.generation:
        return _from_row(row)  # signed out, or renewed meanwhile: use what is there now
    if timezone.now() - (row.renewed_at or row.signed_in_at) < FRESH_TOKEN:
        raise error
    try:
        return _from_row(renewal.renewed_row(row, refused=True))
    except DatabaseError as failure:
        raise renewal.database_error(failure) from None


def tmdb_auth() -> TmdbAuth:
    """TMDB's credentials: the read access token or the v3 key, from the settings."""
    return TmdbAuth(settings.TMDB_READ_ACCESS_TOKEN or None, settings.TMDB_API_KEY or None)


def tmdb_configured() -> bool:
    """Whether TMDB can be asked at all (the demo answers without credentials)."""
    return bool(settings.TMDB_READ_ACCESS_TOKEN or settings.TMDB_API_KEY or settings.DEMO_MODE)
