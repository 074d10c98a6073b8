"""The history mirror's sync: the owner's whole Trakt history (and ratings) kept in the database.

`sync()` is the one way in; `manage.py sync_trakt` and the background job (`mirror/schedule.py`)
both call it.

- The first run **backfills**: it walks /users/{user}/history newest first, a window of time
  at a time (250 plays, Trakt's cap: `windows.py`), each window ending at the oldest play of
  the one before, so a play deleted or added elsewhere while it walks moves nothing it has
  still to read (page numbers would). Each page is written in one transaction together with
  where the walk goes next, so an interrupted walk continues where it stopped; upserts on
  Trakt's history id make a page written twice harmless.
- Later runs are **incremental**: the plays since the newest one kept, less a day of overlap.
  With an OAuth token, /sync/last_activities is asked first and nothing else when nothing
  moved; without one, the first page is the check (one call either way).
- **Full** (`--full`, daily by the job) walks the whole history again, marking each play it
  sees with the walk's generation, then sweeps the plays it did not see in one DELETE: no set
  of ids is kept in memory. A play is deleted only when it was not listed when its window was
  read (seen, not counted), and only when the walk was exact: every play could be read, and
  no window paged within one moment moved meanwhile. A play deleted or added where the walk
  had already read cannot show in its windows; one call then compares Trakt's count with
  what the walk saw, and when they differ the history is walked once more (counts only ever
  make it look again, never delete). Backfills end the same way.
- Ratings (movies, shows, episodes) are walked after each backfill or full walk, and when
  /sync/last_activities says they moved.

The rooms: `walk.py` (the plan and the walks), `windows.py` (which window of the history comes
next), `pacing.py` (the pace, waits and retries),
`writer.py` (rows from Trakt's answers), `lease.py` (one sync at a time), `upkeep.py` (local
buckets, runs of episodes, starting afresh), `outcome.py` (what a run says of itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError

from nowwatching.databases import problem
from nowwatching.databases.guard import SYNC, limits, reported
from profile.client import UpstreamError
from profile.mirror.sync.lease import SyncBusy
from profile.mirror.sync.outcome import Outcome, Quiet, Reporter, Stopped, SyncFailed
from profile.mirror.sync.walk import Walk
from profile.signin.credentials import credentials

__all__ = ["Outcome", "Reporter", "Stopped", "SyncBusy", "SyncFailed", "sync"]


def sync(
    *,
    full: bool = False,
    pace: bool = True,
    progress: Reporter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Bring the mirror up to date (see the module's docstring); the Outcome says what it did.

    Raises SyncBusy when another sync runs, SyncFailed (with the reason) when this one could
    not finish; what it wrote before stays, and the next run continues from there.
    """
    # Pages of plays and batches of updates: seconds, not a visitor's two (guard.py).
    with limits(SYNC):
        return _sync(full, pace, progress, sleep, should_stop)


def database_failed(error: DatabaseError) -> SyncFailed:
    """The run stopped by the database: its trouble in one line (locked, read-only, ...)."""
    return SyncFailed(problem(error), "database", outage=reported(error))


def _sync(full, pace, progress, sleep, should_stop) -> Outcome:
    try:
        used = credentials()
    except UpstreamError as error:
        raise SyncFailed(error.message, error.code) from None
    run = Walk(used, pace and not settings.DEMO_MODE, progress or Quiet(), sleep, should_stop)
    try:
        run.lease.take()
    except DatabaseError as error:  # locked, read-only, not migrated, unreachable
        raise database_failed(error) from None
    if run.lease.taken_over is not None:
        run.progress.note(
            f"The last sync ({run.lease.taken_over.describe()}) ended without releasing its "
            "lease: carrying on in its place."
        )
    try:
        try:
            outcome = run.go(full)
        except UpstreamError as error:
            raise SyncFailed(error.message, error.code) from None
        except DatabaseError as error:
            raise database_failed(error) from None
    except BaseException as error:
        run.record_failure(error)
        raise
    finally:
        run.finish()
    return outcome
