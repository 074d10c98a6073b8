"""One sync at a time across processes and machines: a lease on the SyncState row, taken
with a conditional UPDATE (`lease_until < now`), renewed after each page and released at the
end; the same on SQLite and PostgreSQL (SQLite ignores select_for_update).

A sync that is killed (SIGKILL, a crash, the machine's OOM killer) cannot release its lease.
Its holder is written into the lease as `host:pid:nonce:place:started`: `place` names this
machine and its process namespace (two containers may share a host name, never a place), and
`started` the process's start time, so a pid used again by another process is not taken for
it. A lease whose holder is a process of this place that no longer exists (or this process,
whose sync has ended without its release reaching the database) is taken over at once; a
holder elsewhere can only be waited for, until its lease lapses (LEASE after its last
renewal).
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from profile.mirror.state import state
from profile.mirror.sync.outcome import SyncFailed
from profile.models import SyncState

LEASE = timedelta(minutes=2)
PROC = Path("/proc")
# The leases this process holds now: one of its own not among them was left by a sync of
# this process that has ended (its release failed: the database was down), not a running one.
_held_here: set[str] = set()


@cache
def this_place() -> str:
    """This machine (its boot) and pid namespace, as a short fingerprint; the host name where
    /proc cannot tell."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat(PROC / "self/ns/pid").st_ino
        seen = f"{boot}:{namespace}"
    except OSError:
        seen = socket.gethostname()
    return hashlib.sha256(seen.encode()).hexdigest()[:12]


def started_at(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), "" if it does not exist (or /proc
    cannot tell)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    return "" if fields[0] == "Z" else fields[19]  # a zombie has ended


@dataclass(frozen=True)
class Holder:
    """Who holds the lease, read from its token."""

    host: str
    pid: int | None
    place: str = ""
    started: str = ""
    token: str = ""

    @classmethod
    def of(cls, token: str) -> Holder:
        parts = token.split(":")
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if len(parts) == 5:
            return cls(parts[0], pid, parts[3], parts[4], token)
        return cls(parts[0], pid)  # another form (an older version): nothing to check

    @property
    def here(self) -> bool:
        return bool(self.place) and self.place == this_place()

    @property
    def running(self) -> bool | None:
        """Whether the holder still runs: None when that cannot be known from here."""
        if not self.here or self.pid is None:
            return None
        if self.pid == os.getpid():
            return self.token in _held_here
        if PROC.is_dir():
            now = started_at(self.pid)
            return bool(now) and (not self.started or now == self.started)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # another user's process
        return True

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid is not None else "a process"
        if self.here:
            return f"{pid} on this machine"
        return f"{pid} on {self.host or 'an unknown host'}, another machine"


class SyncBusy(Exception):
    """Another sync holds the lease."""

    def __init__(self, holder: str, until: datetime | None):
        self.holder = holder
        self.until = until
        found = Holder.of(holder)
        self.who = found.describe()
        self.running = found.running
        super().__init__(f"Another sync holds the lease ({self.who}).")


class Lease:
    """The right to sync, held in the SyncState row, for process `pid` (this one)."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        nonce = uuid.uuid4().hex[:8]
        self.token = (
            f"{socket.gethostname()}:{self.pid}:{nonce}:{this_place()}:{started_at(self.pid)}"
        )
        self.taken_over: Holder | None = None  # the dead holder whose lease was taken

    def take(self) -> None:
        state()  # the row exists
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        if self._take_if(free):
            _held_here.add(self.token)
            return
        row = SyncState.objects.row().values("lease_owner", "lease_until").first() or {}
        owner, until = row.get("lease_owner", ""), row.get("lease_until")
        holder = Holder.of(owner)
        # A process of this machine that no longer exists: its lease is ours, if nobody took
        # it meanwhile (the UPDATE is conditional on the same holder).
        if owner and holder.running is False and self._take_if(Q(lease_owner=owner)):
            _held_here.add(self.token)
            self.taken_over = holder
            return
        raise SyncBusy(owner, until)

    def _take_if(self, condition: Q) -> bool:
        now = timezone.now()
        return bool(
            SyncState.objects.row()
            .filter(condition)
            .update(lease_owner=self.token, lease_until=now + LEASE)
        )

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
        _held_here.discard(self.token)  # whether or not the database hears of it
        SyncState.objects.row().filter(lease_owner=self.token).update(
            lease_owner="", lease_until=None
        )


def held(owner: str, until: datetime | None, now: datetime) -> bool:
    """Whether a lease blocks a sync now: unexpired, and not left by a process of this machine
    that has ended."""
    return until is not None and until > now and Holder.of(owner).running is not False
