"""The mirror's state: the one SyncState row, the version every change moves, and the cache
of figures keyed by it.

Every change the sync makes to the mirror moves its version (`version_moved()`, in the same
UPDATE as the change); whatever is computed from the mirror is cached under it (`cached()`),
so a warm page costs one small query and a cache read. A process rereads the state at most
every MIRROR_SECONDS; code that changes the mirror in the same process calls
`forget_mirror()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, IntegrityError
from django.db.models import F, Max, Value
from django.db.models.functions import Greatest

from profile.models import OneRow, Play, SyncState

T = TypeVar("T")

CACHE_SECONDS = 10 * 60
KEY = "nowwatching:v1:mirror:"


def state() -> SyncState:
    """The one SyncState row, created on first use."""
    try:
        return SyncState.objects.get_or_create(pk=OneRow.ID)[0]
    except IntegrityError:  # created by another process between our get and create
        return SyncState.objects.get(pk=OneRow.ID)


def owner_identity(person: str) -> str:
    """Whose history the mirror holds: another person or another Trakt means starting afresh
    (the same person signed in, with the `me` paths, or not is the same history)."""
    if settings.DEMO_MODE:
        return "demo"
    return f"{settings.TRAKT_API_URL}/users/{person}"


# The SyncState fields of a walk under way, as they are when none is (the walk ended, or
# the mirror starts afresh): `SyncState.objects.row().update(**NO_WALK)`.
NO_WALK = {
    "walk_kind": "",
    "walk_next_page": None,
    "walk_end_at": None,
    "walk_cursor": None,
    "walk_cursor_page": 1,
    "walk_item_count": None,
}


def version_moved(count: int = 1) -> dict:
    """The SyncState update that marks the mirror changed (when `count` says it did), to go
    in the same UPDATE as the change: the one way the mirror's version moves."""
    return {"version": F("version") + 1} if count else {}


def version_past(version: int) -> dict:
    """The SyncState update that moves the version beyond both its own and `version` (a
    restored backup brings back an older number: figures cached under the numbers either
    database reached are never served for the other)."""
    return {"version": Greatest(F("version"), Value(version)) + 1}


def mark_changed() -> None:
    """The mirror changed outside a sync's own writes (posters looked up): figures and pages
    cached under the old version are not served again."""
    SyncState.objects.row().update(**version_moved())
    forget_mirror()


@dataclass(frozen=True)
class Mirror:
    """What the mirror is at: its version (bumped by every change), the zone of its buckets,
    and whether a sync has ever finished a walk over the whole history."""

    version: int
    time_zone: str
    backfilled: bool
    syncing: bool  # a walk is under way
    last_success_at: datetime | None
    newest: datetime | None = None  # when its newest play was watched (None: it holds none)

    @property
    def plays(self) -> bool:
        """Whether it holds any play."""
        return self.newest is not None


MIRROR_SECONDS = 2  # how long a process reuses what it read of SyncState


# The last state this process read: while the database cannot be read, the figures cached
# under it are still served (as the page serves Trakt's kept answers while Trakt fails).
_last_read: Mirror | None = None


def mirror() -> Mirror:
    """The mirror's state, read at most every MIRROR_SECONDS by each process; the last one
    read while the database cannot be read (DatabaseError when none was)."""
    global _last_read
    local = caches["local"]
    state = local.get(KEY + "state")
    if state is None:
        try:
            state = _last_read = _read_mirror()
        except DatabaseError:
            if _last_read is None:
                raise
            state = _last_read
        local.set(KEY + "state", state, MIRROR_SECONDS)
    return state


def forget_mirror() -> None:
    """After this process changed the mirror: read its state afresh next time."""
    caches["local"].delete(KEY + "state")


def _read_mirror() -> Mirror:
    row = (
        SyncState.objects.row()
        .values("version", "time_zone", "backfilled_at", "walk_next_page", "last_success_at")
        .first()
    )
    if row is None:
        return Mirror(0, settings.TIME_ZONE, False, False, None)
    return Mirror(
        row["version"],
        row["time_zone"] or settings.TIME_ZONE,
        row["backfilled_at"] is not None,
        row["walk_next_page"] is not None,
        row["last_success_at"],
        Play.objects.aggregate(newest=Max("watched_at"))["newest"],  # the index's last entry
    )


def cached(state: Mirror, name: str, compute: Callable[[], T]) -> T:
    """`compute()`, reused while the mirror has not changed (and for CACHE_SECONDS at most).

    None (nothing to show: a year without plays) is not kept: `name` may come from a visitor
    (/year/<yyyy>), and a key for every year anyone asks for would fill the cache."""
    key = f"{KEY}{state.version}:{state.time_zone}:{name}"
    value = cache.get(key)
    if value is None:
        value = compute()
        if value is not None:
            cache.set(key, value, CACHE_SECONDS)
    return value
