"""Upkeep of the mirror between and around walks: the local buckets after TIME_ZONE changed,
the runs of episodes (the longest binge), and starting afresh for another owner."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from profile.mirror.state import NO_WALK, state, version_moved
from profile.mirror.sync.outcome import Reporter
from profile.mirror.sync.writer import localize
from profile.models import (
    Comment,
    Episode,
    Favorite,
    ListItem,
    Play,
    Rating,
    SyncState,
    Title,
    UserList,
    WatchlistItem,
)

RELOCALIZE_BATCH = 2000


def relocalize(renew: Callable[[], None] = lambda: None, progress: Reporter | None = None) -> int:
    """After TIME_ZONE changed: every play's buckets again, in batches; how many plays."""
    zone_name = settings.TIME_ZONE
    st = state()
    if st.time_zone == zone_name:
        return 0
    zone = zoneinfo.ZoneInfo(zone_name)
    done = last = 0
    if st.time_zone and progress:
        progress.note(f"TIME_ZONE changed ({st.time_zone} to {zone_name}): re-bucketing plays.")
    while True:
        batch = list(
            Play.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "watched_at")[:RELOCALIZE_BATCH]
        )
        if not batch:
            break
        for play in batch:
            localize(play, zone)
        with transaction.atomic():
            Play.objects.bulk_update(
                batch, ["local_date", "local_hour", "local_weekday", "epoch_minute"]
            )
            renew()
        done += len(batch)
        last = batch[-1].pk
    SyncState.objects.row().update(time_zone=zone_name, **version_moved())
    return done


# --- Runs of episodes (the longest binge) ---------------------------------------------------------

RUN_GAP_MINUTES = 60
BATCH = 500  # ids in one IN (...): well under SQLite's limit of bound parameters


def refresh_runs(renew: Callable[[], None] = lambda: None) -> int:
    """Works out `run_start` again for every show with a play written since (or a play
    removed): walks that show's plays in order, a new run after a gap of an hour or more
    (from one play's end to the next one's start). How many plays changed."""
    shows = list(
        Play.objects.filter(kind=Play.EPISODE, run_start__isnull=True)
        .values_list("title_id", flat=True)
        .distinct()
    )
    changed = 0
    for show in shows:
        rows = (
            Play.objects.filter(title_id=show, kind=Play.EPISODE)
            .order_by("epoch_minute", "history_id")
            .values_list("pk", "epoch_minute", "runtime", "run_start")
        )
        # The plays whose run_start changes, by their new run_start: one UPDATE per run (a run
        # is a few plays to hundreds), far cheaper than one CASE per play (bulk_update).
        runs: dict[int, list[int]] = {}
        start = previous_end = None
        for pk, minute, runtime, old in rows.iterator(chunk_size=2000):
            if previous_end is None or minute - runtime - previous_end >= RUN_GAP_MINUTES:
                start = minute - runtime
            if old != start:
                runs.setdefault(start, []).append(pk)
            previous_end = minute
        moved = sum(len(pks) for pks in runs.values())
        with transaction.atomic():
            for run_start, pks in runs.items():
                for at in range(0, len(pks), BATCH):
                    Play.objects.filter(pk__in=pks[at : at + BATCH]).update(run_start=run_start)
            # The binges drawn from them change: so does the mirror's version.
            SyncState.objects.row().update(**version_moved(moved))
            renew()
        changed += moved
    return changed


# --- Housekeeping ---------------------------------------------------------------------------------


def reset_mirror(identity: str) -> None:
    """Forget every play, rating, title and the library: the mirror is about to hold another
    history."""
    with transaction.atomic():
        Play.objects.all().delete()
        Rating.objects.all().delete()
        for model in (Favorite, WatchlistItem, ListItem, UserList, Comment):
            model.objects.all().delete()
        Episode.objects.all().delete()
        Title.objects.all().delete()
        SyncState.objects.row().update(
            owner=identity,
            **NO_WALK,
            backfilled_at=None,
            last_full_at=None,
            last_activities={},
            library_fetched_at={},
            time_zone=settings.TIME_ZONE,
            **version_moved(),
        )


def forget_orphans() -> None:
    """Titles nothing points at any more: no play, rating, favourite, watchlist or list
    item, or comment (their plays were deleted on Trakt, or they left the library)."""
    referenced = [
        model.objects.filter(title=OuterRef("pk"))
        for model in (Play, Rating, Favorite, WatchlistItem, ListItem, Comment)
    ]
    Title.objects.exclude(reduce(or_, (Exists(rows) for rows in referenced))).delete()
