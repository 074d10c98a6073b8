"""One sync at a time across processes and machines: a lease on the SyncState row, taken
with a conditional UPDATE (`lease_until < now`), renewed after each page and released at the
end; the same on SQLite and PostgreSQL (SQLite ignores select_for_update)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from profile.mirror.state import state
from profile.mirror.sync.outcome import SyncFailed
from profile.models import SyncState

LEASE = timedelta(minutes=2)


class SyncBusy(Exception):
    """Another sync holds the lease."""

    def __init__(self, holder: str, until: datetime | None):
        super().__init__(f"Another sync is running ({holder or 'unknown'}).")
        self.holder = holder
        self.until = until


class Lease:
    """The right to sync, held in the SyncState row."""

    def __init__(self) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def take(self) -> None:
        state()  # the row exists
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = (
            SyncState.objects.row()
            .filter(free)
            .update(lease_owner=self.token, lease_until=now + LEASE)
        )
        if not taken:
            holder = SyncState.objects.row().values("lease_owner", "lease_until")
            row = holder.first() or {}
            raise SyncBusy(row.get("lease_owner", ""), row.get("lease_until"))

    def renew(self) -> None:
        renewed = (
            SyncState.objects.row()
            .filter(lease_owner=self.token)
            .update(lease_until=timezone.now() + LEASE)
        )
        if not renewed:
            # Held too long without renewing (a frozen process): another sync may be running.
            raise SyncFailed("The sync lost its lease to another sync; stopping.", "lease_lost")

    def release(self) -> None:
        SyncState.objects.row().filter(lease_owner=self.token).update(
            lease_owner="", lease_until=None
        )
