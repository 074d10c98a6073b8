"""Helpers for the sign-in tests: a stored sign-in issued by the fake Trakt, and the raw
database, to prove the tokens are not in it in clear."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.db import connection

from profile.client.schemas import TokenPair
from profile.models import TraktToken
from profile.signin import storage
from tests.fake_upstream import FakeUpstream

DAY = timedelta(days=1)


def sign_in(fake: FakeUpstream, issued_ago: timedelta = timedelta(0)) -> dict:
    """Store a pair the fake issued (as `trakt_login` would), `issued_ago` old; the pair."""
    pair = fake.tokens.issue(issued_ago.total_seconds())
    storage.store_sign_in(TokenPair.model_validate(pair))
    # Signed in that long ago too, or a 401 would find the token too fresh to renew.
    TraktToken.objects.filter(pk=1).update(
        user_slug="sean",
        user_name="Sean Rudford",
        signed_in_at=TraktToken.objects.get(pk=1).signed_in_at - issued_ago,
    )
    return pair


def stored() -> TraktToken:
    return TraktToken.objects.get(pk=1)


def raw_database_text() -> str:
    """Everything the database holds for the sign-in, as its own files or values hold it:
    the SQLite file (and its write-ahead log) byte for byte, or PostgreSQL's raw rows."""
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        files = [name, Path(f"{name}-wal"), Path(f"{name}-journal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    with connection.cursor() as cursor:
        text = []
        for table in (TraktToken._meta.db_table, "profile_traktratelimit"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table names
            text += [repr(row) for row in cursor.fetchall()]
        return "\n".join(text)
