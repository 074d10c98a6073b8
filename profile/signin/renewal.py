"""Renewing the stored sign-in's tokens before they expire, exactly once per generation.

A token is renewed when less than a day of it is left (a quarter of its lifetime for tokens
shorter than four days), or when Trakt answers 401 to it. Refresh tokens are single use, so
exactly one caller renews a given generation of the pair, across threads, processes and
machines: it takes a lease on the row with a conditional UPDATE (`generation = g` and no
live lease), which PostgreSQL and SQLite both run atomically, so no `select_for_update` is
needed. It sends the refresh token once and stores the new pair as generation g + 1 in one
UPDATE, fenced by its lease. The others poll the row for up to WAIT_SECONDS for the new
generation, then use the old token if it is still valid, or answer a clear error.

If the renewer dies while Trakt is answering, its lease runs out after LEASE and the next
caller renews with the same refresh token: if Trakt never saw it, that works; if Trakt had
already swapped it, Trakt answers `invalid_grant` and the site is signed out (the new pair
died with the process; the owner signs in again). Nothing waits on a dead renewer for longer
than WAIT_SECONDS.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from profile.client import UpstreamError, oauth
from profile.client.oauth import App
from profile.client.schemas import TokenPair
from profile.models import TraktToken
from profile.signin.sealing import seal, unseal
from profile.signin.storage import load, mark_unreadable, warn_once

log = logging.getLogger(__name__)


# Renew when less than this is left of the token (Trakt's tokens last 7 days now) ...
RENEW_BEFORE = timedelta(days=1)


# ... or less than this share of its whole lifetime, for shorter tokens (24 h ones renew at 18 h).
RENEW_BEFORE_SHARE = 4


# How long one renewer holds the lease: far longer than a renewal can take (Trakt's auth host
# has a 5 s deadline), so a live renewer never loses it; a dead one frees it after this.
LEASE = timedelta(seconds=60)


# A renewed pair that the database refuses is tried this often (0.5 s apart) before it is lost.
STORE_ATTEMPTS = 3


# How long a caller waits for somebody else's renewal, and how often it looks.
WAIT_SECONDS = 2.0


POLL_SECONDS = 0.05


# After a renewal fails for a passing reason, wait before the next try: 30 s, doubling, to 10 min.
BACKOFF_FIRST_SECONDS = 30


BACKOFF_MAX_SECONDS = 600


def renewal_due_at(row: TraktToken) -> datetime:
    return row.expires_at - _renew_before(row.expires_at - row.issued_at)


def _renew_before(lifetime: timedelta) -> timedelta:
    return min(RENEW_BEFORE, lifetime / RENEW_BEFORE_SHARE)


def renewed_row(row: TraktToken, *, refused: bool) -> TraktToken | None:
    """The row to take credentials from: renewed here, or by whoever holds the lease, or (if
    the token was not refused) the old one while it is still valid. None or a signed-out row
    when the sign-in is gone. Raises UpstreamError when there is no token to use."""
    app = trakt_app()
    now = timezone.now()
    if app is None:
        warn_once(
            "no-secret",
            "TRAKT_CLIENT_SECRET is not set: the Trakt sign-in cannot be renewed and stops "
            "working when its token expires.",
        )
        return old_if_usable(
            row,
            refused,
            UpstreamError(
                "not_configured",
                "The Trakt sign-in cannot be renewed: set TRAKT_CLIENT_SECRET.",
                retry_after=3600,
            ),
        )
    if row.next_renewal_at is not None and row.next_renewal_at > now:
        return old_if_usable(row, refused, _renewal_failed_error(row))
    lease = now + LEASE
    taken = (
        TraktToken.objects.row()
        .filter(generation=row.generation, signed_out_at__isnull=True)
        .filter(Q(renewing_until__isnull=True) | Q(renewing_until__lt=now))
        .filter(Q(next_renewal_at__isnull=True) | Q(next_renewal_at__lte=now))
        .update(renewing_until=lease)
    )
    if taken:
        return _exchange(row, app, lease, refused)
    return _wait_for_renewal(row, refused)


def _exchange(row: TraktToken, app: App, lease: datetime, refused: bool) -> TraktToken | None:
    """Holding the lease: send the refresh token once, store the new pair."""
    # Every write below is fenced by the lease: a renewer that somehow outlived it changes nothing.
    mine = TraktToken.objects.row().filter(generation=row.generation, renewing_until=lease)
    try:
        refresh_token = unseal(row.refresh_token_encrypted)
    except InvalidToken:
        mark_unreadable(row)
        return load()
    now = timezone.now()
    try:
        pair = oauth.refresh(app, refresh_token)
    except UpstreamError as error:
        if error.code == "signed_out":
            if mine.update(
                signed_out_at=now,
                renewing_until=None,
                last_error=_clip(
                    f"Trakt refused to renew the token ({_http(error)}): sign in again"
                ),
                last_error_at=now,
            ):
                log.error(
                    "Trakt refused to renew the sign-in of @%s (invalid_grant, %s): the site no "
                    "longer uses it. The owner must sign in again with `manage.py trakt_login`.",
                    row.user_slug or "?",
                    _http(error),
                )
            return load()
        failures = row.renewal_failures + 1
        wait = BACKOFF_FIRST_SECONDS * 2 ** min(failures - 1, 10)
        wait = min(max(wait, error.retry_after or 0), BACKOFF_MAX_SECONDS)
        mine.update(
            renewing_until=None,
            next_renewal_at=now + timedelta(seconds=wait),
            renewal_failures=failures,
            last_error=_clip(f"renewal failed: {error.code}: {error.message}"),
            last_error_at=now,
        )
        log.warning(
            "Renewing the Trakt sign-in failed (%s); the next try is in %s s.", error.code, wait
        )
        return old_if_usable(row, refused, error)
    stored = _store_renewed(mine, pair, now)
    if not stored:
        # Signed out or signed in anew while Trakt answered: this pair belongs to nobody.
        log.warning(
            "The Trakt sign-in changed while it was being renewed; the new token is revoked."
        )
        revoke_quietly(app, pair.access_token)
        return load()
    renewed = load()
    if renewed is not None:
        log.info(
            "Renewed the Trakt sign-in of @%s; the new token expires at %s.",
            renewed.user_slug or "?",
            renewed.expires_at.isoformat(timespec="seconds"),
        )
    return renewed


def _store_renewed(mine, pair: TokenPair, now: datetime) -> int:
    """The new pair, as the next generation, in one UPDATE. Trakt has retired the old refresh
    token already, so losing this pair means signing in again: a busy database gets a few
    tries (the lease is ours for a minute)."""
    issued_at, expires_at = pair.issued_at, pair.expires_at
    if expires_at - _renew_before(expires_at - issued_at) <= now:
        # Due again at once (Trakt's clock is far behind ours): that would renew at every
        # call. Its lifetime counts from now instead.
        log.warning(
            "Trakt's renewed token says it was issued at %s, which would make it due at once; "
            "its lifetime is counted from now.",
            issued_at.isoformat(timespec="seconds"),
        )
        issued_at, expires_at = now, now + timedelta(seconds=pair.expires_in)
    fields = {
        "access_token_encrypted": seal(pair.access_token),
        "refresh_token_encrypted": seal(pair.refresh_token),
        "issued_at": issued_at,
        "expires_at": expires_at,
        "renewed_at": now,
        "generation": F("generation") + 1,
        "renewing_until": None,
        "next_renewal_at": None,
        "renewal_failures": 0,
        "last_error": "",
        "last_error_at": None,
    }
    for attempt in range(STORE_ATTEMPTS):
        try:
            return mine.update(**fields)
        except DatabaseError as error:
            log.error(
                "The renewed Trakt token could not be stored (%s, try %s of %s).",
                type(error).__name__,
                attempt + 1,
                STORE_ATTEMPTS,
            )
            if attempt + 1 == STORE_ATTEMPTS:
                raise
            time.sleep(0.5)
    return 0


def _wait_for_renewal(row: TraktToken, refused: bool) -> TraktToken | None:
    """Somebody else holds the lease (or just finished): wait briefly for the new generation."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        latest = load()
        if latest is None or latest.signed_out or latest.generation != row.generation:
            return latest
        live_lease = latest.renewing_until is not None and latest.renewing_until >= timezone.now()
        if not live_lease:
            # The renewer gave up without a new pair (Trakt failing): say what it ran into.
            return old_if_usable(latest, refused, _renewal_failed_error(latest))
        if time.monotonic() + POLL_SECONDS > deadline:
            break
        time.sleep(POLL_SECONDS)
    return old_if_usable(
        row,
        refused,
        UpstreamError(
            "unavailable",
            "The Trakt sign-in is being renewed; try again in a moment.",
            retry_after=5,
        ),
    )


def old_if_usable(row: TraktToken, refused: bool, error: UpstreamError) -> TraktToken:
    """The row as it is, while its token was not refused and has not expired; else `error`."""
    if not refused and row.expires_at > timezone.now():
        return row
    raise error


def _renewal_failed_error(row: TraktToken) -> UpstreamError:
    retry = None
    if row.next_renewal_at is not None:
        retry = max(1, int((row.next_renewal_at - timezone.now()).total_seconds()))
    return UpstreamError(
        "unavailable",
        "The Trakt sign-in expired and renewing it failed for now; the site tries again shortly.",
        retry_after=retry,
    )


def database_error(error: DatabaseError) -> UpstreamError:
    log.warning(
        "The Trakt sign-in could not be renewed: the database failed (%s).", type(error).__name__
    )
    return UpstreamError(
        "unavailable", "The site's database is not answering; try again in a moment.", retry_after=5
    )


def _http(error: UpstreamError) -> str:
    return f"HTTP {error.status}" if error.status else error.code


def _clip(text: str) -> str:
    return text[: TraktToken._meta.get_field("last_error").max_length]


def revoke_quietly(app: App, token: str) -> None:
    try:
        oauth.revoke(app, token)
    except UpstreamError:
        pass  # oauth logged it; the token dies at its expiry anyway


def trakt_app() -> App | None:
    if not settings.TRAKT_API_KEY or not settings.TRAKT_CLIENT_SECRET:
        return None
    return App(settings.TRAKT_API_KEY, settings.TRAKT_CLIENT_SECRET)
