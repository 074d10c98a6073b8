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


def liveness() -> dict:
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
            return {"database": "degraded", "history": None}
        local.set(KEY + "sync", row, HEALTH_SECONDS)
    return {"database": "ok", "history": _history(row)}


def _history(row: dict) -> dict:
    attempt, success = row.get("last_attempt_at"), row.get("last_success_at")
    error = row.get("last_error_at")
    if attempt is None:
        state = "never"
    elif error is not None and (success is None or error >= success):
        state = "failing"
    else:
        state = "ok"
    return {
        "sync_minutes": settings.HISTORY_SYNC_MINUTES,
        "state": state,
        "running": _future(row.get("lease_until")),
        "last_run_at": _moment(attempt),
        "last_success_at": _moment(success),
    }


def _future(moment: datetime | None) -> bool:
    return moment is not None and moment > timezone.now()


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else formatting.iso(moment)


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
