"""The stored sign-in: one TraktToken row, written by the sign-in package only.

Tokens are loaded from the row in `token_in()` (the access token) and `renewal` (the refresh
token), and received from Trakt in `store_sign_in()` and `renewal`: nothing here logs them,
and they only ever leave the package inside a `TraktAuth`.
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from nowwatching.databases.guard import reported
from profile.client import TraktProfile
from profile.client.schemas import TokenPair
from profile.models import OneRow, TraktToken
from profile.signin.sealing import seal, unseal

log = logging.getLogger(__name__)

# How long each process reuses "is the sign-in ended?" for the page's note.
SIGNED_OUT_NOTE_SECONDS = 30
SIGNED_OUT_KEY = "nowwatching:v1:trakt:signed-out"


def load() -> TraktToken | None:
    """The stored sign-in, or None when there is none or the database cannot say."""
    try:
        row = TraktToken.objects.row().first()
    except DatabaseError as error:
        # The class only: a driver's message may name the database's address. An outage is
        # the guard's to report (nowwatching/databases/guard.py).
        if not reported(error):
            warn_once(
                "database",
                f"The stored Trakt sign-in cannot be read ({type(error).__name__}): is the "
                "database migrated (`manage.py migrate`)? Trakt is called without it meanwhile.",
            )
        caches["local"].set(SIGNED_OUT_KEY, False, timeout=SIGNED_OUT_NOTE_SECONDS)
        return None
    signed_out = row is not None and row.signed_out
    caches["local"].set(SIGNED_OUT_KEY, signed_out, timeout=SIGNED_OUT_NOTE_SECONDS)
    return row


def is_signed_out() -> bool:
    """Whether the stored sign-in was ended by Trakt (the page's quiet note).

    Asked at every page view, so it is not a database query each time: every read of the
    row (each Trakt fetch makes one) leaves the answer in this process's memory, and a page
    asks the database only when none was made for SIGNED_OUT_NOTE_SECONDS.
    """
    if settings.DEMO_MODE:
        return False
    known = caches["local"].get(SIGNED_OUT_KEY)
    if known is None:
        row = load()
        known = row is not None and row.signed_out
    return known


def token_in(row: TraktToken) -> str | None:
    """The row's access token, or None (and the row marked signed out) if it cannot be read."""
    try:
        return unseal(row.access_token_encrypted)
    except InvalidToken:
        mark_unreadable(row)
        return None


def mark_unreadable(row: TraktToken) -> None:
    now = timezone.now()
    message = "the stored tokens cannot be decrypted with this SECRET_KEY: sign in again"
    if (
        TraktToken.objects.row()
        .filter(generation=row.generation, signed_out_at__isnull=True)
        .update(signed_out_at=now, renewing_until=None, last_error=message, last_error_at=now)
    ):
        log.error(
            "The stored Trakt sign-in cannot be decrypted (was SECRET_KEY changed?): the site no "
            "longer uses it. The owner must sign in again with `manage.py trakt_login`."
        )


def store_sign_in(pair: TokenPair) -> TraktToken:
    """Keep a new sign-in's tokens, replacing whatever was stored, as the next generation."""
    now = timezone.now()
    fields = {
        "access_token_encrypted": seal(pair.access_token),
        "refresh_token_encrypted": seal(pair.refresh_token),
        "issued_at": pair.issued_at,
        "expires_at": pair.expires_at,
        "user_slug": "",
        "user_name": "",
        "signed_in_at": now,
        "renewed_at": None,
        "renewing_until": None,
        "next_renewal_at": None,
        "renewal_failures": 0,
        "last_error": "",
        "last_error_at": None,
        "signed_out_at": None,
    }
    # A new generation, so a renewal of the old pair under way cannot overwrite this one.
    if not TraktToken.objects.row().update(generation=F("generation") + 1, **fields):
        try:
            with transaction.atomic():
                TraktToken.objects.create(pk=OneRow.ID, generation=1, **fields)
        except IntegrityError:  # created meanwhile
            TraktToken.objects.row().update(generation=F("generation") + 1, **fields)
    return TraktToken.objects.row().get()


def remember_owner(profile: TraktProfile) -> None:
    TraktToken.objects.row().update(
        user_slug=profile.ids.slug or "", user_name=(profile.name or profile.username)[:1000]
    )


# --- Logging once ---------------------------------------------------------------------------------


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """A configuration problem is logged once per process, not at every call."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message)
