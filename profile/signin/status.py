"""What `manage.py trakt_status` shows of the sign-in: read from the database, never a token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError

from profile.models import TraktRateLimit, TraktToken
from profile.signin.renewal import renewal_due_at


@dataclass(frozen=True)
class SignIn:
    """The stored sign-in, without its tokens."""

    user_slug: str
    user_name: str
    signed_in_at: datetime
    issued_at: datetime
    expires_at: datetime
    renewal_due_at: datetime
    renewed_at: datetime | None
    next_renewal_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    signed_out_at: datetime | None


@dataclass(frozen=True)
class Status:
    sign_in: SignIn | None
    using: str  # what Trakt calls use now: "signed_in", "environment", "public" or "none"
    public_user: str
    environment_token: bool
    client_secret: bool
    rate_limit: TraktRateLimit | None
    database_error: str | None = None


def sign_in_status() -> Status:
    """Everything `trakt_status` says, read from the database; never a token."""
    database_error = None
    try:
        row = TraktToken.objects.row().first()
        rate_limit = TraktRateLimit.objects.row().first()
    except DatabaseError as error:
        row, rate_limit, database_error = None, None, type(error).__name__
    sign_in = None
    if row is not None:
        sign_in = SignIn(
            user_slug=row.user_slug,
            user_name=row.user_name,
            signed_in_at=row.signed_in_at,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            renewal_due_at=renewal_due_at(row),
            renewed_at=row.renewed_at,
            next_renewal_at=row.next_renewal_at,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            signed_out_at=row.signed_out_at,
        )
    public_user = settings.TRAKT_USERNAME or (row.user_slug if row is not None else "")
    if row is not None and not row.signed_out:
        using = "signed_in"
    elif settings.TRAKT_ACCESS_TOKEN:
        using = "environment"
    else:
        using = "public" if public_user else "none"
    return Status(
        sign_in=sign_in,
        using=using,
        public_user=public_user,
        environment_token=bool(settings.TRAKT_ACCESS_TOKEN),
        client_secret=bool(settings.TRAKT_CLIENT_SECRET),
        rate_limit=rate_limit,
        database_error=database_error,
    )
