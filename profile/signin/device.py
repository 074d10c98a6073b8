"""Signing in with Trakt's device flow (`manage.py trakt_login`) and out (`trakt_logout`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.conf import settings

from profile import formatting
from profile.client import TraktAuth, TraktProfile, UpstreamError, oauth, trakt
from profile.client.oauth import App
from profile.client.schemas import DeviceCode
from profile.models import TraktToken
from profile.signin.credentials import signed_out_error
from profile.signin.renewal import revoke_quietly
from profile.signin.sealing import unseal
from profile.signin.storage import load, remember_owner, store_sign_in, token_in


class SignInFailed(Exception):
    """The device flow ended without a sign-in; the message says why and what to do."""


DEVICE_REFUSALS = {
    "invalid": "Trakt does not know this device code (HTTP 404). Run `manage.py trakt_login` "
    "again.",
    "used": "This code was used already (HTTP 409). Run `manage.py trakt_login` again for a new "
    "one.",
    "expired": "The code expired before it was approved (HTTP 410). Run `manage.py trakt_login` "
    "again and approve it in time.",
    "denied": "The sign-in was denied at Trakt (HTTP 418). Nothing was stored.",
}


# Poll less often by this much each time Trakt says "slow down" (429), up to a minute.
SLOW_DOWN_SECONDS = 5


SLOWEST_POLL_SECONDS = 60


def sign_in_with_device(
    app: App,
    show_code: Callable[[DeviceCode], None],
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TraktToken:
    """Trakt's device flow: show the code, poll every `interval` until approved or expired,
    store the tokens. Raises SignInFailed (or UpstreamError when Trakt cannot start it)."""
    code = oauth.device_code(app.client_id)
    show_code(code)
    interval = code.interval or 5
    deadline = clock() + code.expires_in
    trouble = None
    while True:
        left = deadline - clock()
        if left <= 0:
            raise SignInFailed(
                f"The code expired after {_minutes(code.expires_in)} without an approval. Run "
                "`manage.py trakt_login` again."
            )
        sleep(min(interval, left))
        try:
            poll = oauth.poll_device_token(app, code.device_code)
        except UpstreamError as error:
            if error.code in ("unauthorized", "forbidden"):
                raise SignInFailed(error.message) from None
            if error.code != trouble:  # say it once, not at every poll
                say(f"Trakt did not answer ({error.message}) Still waiting.")
                trouble = error.code
            continue
        trouble = None
        if poll.status == "approved":
            replaced = _access_token_stored()
            row = store_sign_in(poll.tokens)
            if replaced is not None and replaced != poll.tokens.access_token:
                revoke_quietly(app, replaced)  # the sign-in this one replaces: no use now
            return row
        if poll.status == "slow_down":
            interval = min(interval + SLOW_DOWN_SECONDS, SLOWEST_POLL_SECONDS)
            say(f"Trakt asks to poll less often: every {interval} s from now on.")
        elif poll.status != "pending":
            raise SignInFailed(DEVICE_REFUSALS[poll.status])


def _access_token_stored() -> str | None:
    row = load()
    if row is None:
        return None
    try:
        return unseal(row.access_token_encrypted)
    except InvalidToken:
        return None


def whose(row: TraktToken) -> TraktProfile:
    """Ask Trakt whose token the stored one is (/users/me) and remember it."""
    token = token_in(row)
    if token is None:
        raise signed_out_error()
    profile = trakt.profile(TraktAuth(settings.TRAKT_API_KEY, token), "me")
    remember_owner(profile)
    return profile


@dataclass(frozen=True)
class SignedOut:
    was_signed_in: bool
    user_slug: str = ""
    revoke_error: str | None = None  # why Trakt did not revoke it, if it did not


def sign_out(app: App | None) -> SignedOut:
    """Revoke the stored token at Trakt (when the app's secret is known) and delete it here."""
    row = load()
    if row is None:
        return SignedOut(False)
    revoke_error = None
    if app is None:
        revoke_error = "TRAKT_CLIENT_SECRET is not set, so Trakt was not asked to revoke it"
    else:
        try:
            token = unseal(row.access_token_encrypted)
        except InvalidToken:
            revoke_error = "the stored token cannot be decrypted with this SECRET_KEY"
        else:
            try:
                oauth.revoke(app, token)
            except UpstreamError as error:
                revoke_error = error.message
    TraktToken.objects.row().delete()
    return SignedOut(True, row.user_slug, revoke_error)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return formatting.counted(minutes, "minute")
