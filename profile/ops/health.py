"""What /healthz and /readyz say: the database, the history job, pending migrations.

Both are cheap enough for a probe every few seconds from every replica: each process reads
the database for them at most every HEALTH_SECONDS (a failure is never kept), and once it
has found no migration pending it does not look again for READY_SECONDS. Nothing private is
said: no error text, no host, no user, only states and times of the sync's runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.utils import timezone

from profile import formatting
from profile.models import SyncState
from profile.ops.migrations import pending_migrations

HEALTH_SECONDS = 2
READY_SECONDS = 60
KEY = "nowwatching:v1:ops:"


@dataclass(frozen=True)
class HistoryJob:
    """The background sync of the history, as the SyncState row says."""

    sync_minutes: int  # HISTORY_SYNC_MINUTES (0: the site does not sync by itself)
    state: str  # "ok", "failing" (the last run failed), "never"
    running: bool  # a sync holds the lease, in any process
    last_run_at: datetime | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class Liveness:
    database: bool  # this process reads its database
    history: HistoryJob | None  # None while the database cannot be read


def liveness() -> Liveness:
    """The database and the history job, for /healthz (beside the cache's state)."""
    local = caches["local"]
    row = local.get(KEY + "sync")
    if row is None:
        try:
            row = (
                SyncState.objects.row()
                .values("last_attempt_at", "last_success_at", "last_error_at", "lease_until")
                .first()
            ) or {}
        except DatabaseError:
            return Liveness(False, None)
        local.set(KEY + "sync", row, HEALTH_SECONDS)
    return Liveness(True, _history(row))


def _history(row: dict) -> HistoryJob:
    attempt, success = row.get("last_attempt_at"), row.get("last_success_at")
    error, lease = row.get("last_error_at"), row.get("lease_until")
    if attempt is None:
        state = "never"
    elif error is not None and (success is None or error >= success):
        state = "failing"
    else:
        state = "ok"
    running = lease is not None and lease > timezone.now()
    return HistoryJob(settings.HISTORY_SYNC_MINUTES, state, running, attempt, success)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str = ""


def readiness() -> Readiness:
    """Ready to serve: the database answers and holds every migration this code has."""
    local = caches["local"]
    if local.get(KEY + "ready"):
        return Readiness(True)
    try:
        pending = pending_migrations(connection)
    except DatabaseError:
        return Readiness(False, "The database cannot be reached.")
    if pending:
        return Readiness(
            False,
            f"The database lacks {formatting.counted(len(pending), 'migration')} of this "
            "release: they are applied when the site starts (manage.py migrate).",
        )
    local.set(KEY + "ready", True, READY_SECONDS)
    return Readiness(True)
