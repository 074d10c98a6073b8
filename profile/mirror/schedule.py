"""The site keeps its history mirror current by itself: no cron, no worker to run.

Each web process runs one daemon thread (started by nowwatching/wsgi.py and asgi.py, which
every server imports and no management command or test does). Every TICK_SECONDS it asks
`due()` whether a sync is due and runs `profile.mirror.sync.sync()` (the same function as
`manage.py sync_trakt`):

- an incremental sync at most every HISTORY_SYNC_MINUTES;
- a full reconcile (`--full`) once a day, which also continues an interrupted walk;
- an incremental within a minute after the watching answer changed (the live answer notes it
  with `note_watching()`), so what just finished shows up as recently watched.

Processes and machines share the SyncState lease, so only one sync ever runs; the others
find it taken and wait for their next tick. Nothing here runs inside a visitor's request.
Errors cost one log line and a try at the next due time. After a sync the thread looks up
TMDB posters for the mirror's titles, a few at a time (`posters.py`).

HISTORY_SYNC_MINUTES=0 starts no thread: the mirror then changes only by `sync_trakt`.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from nowwatching.databases import problem
from nowwatching.databases.guard import reported
from profile.client import UpstreamError
from profile.mirror import sync
from profile.mirror.details import fill_details
from profile.mirror.posters import fill_posters
from profile.mirror.state import state
from profile.mirror.sync.lease import held
from profile.models import SyncState

log = logging.getLogger(__name__)

TICK_SECONDS = 30
FULL_EVERY = timedelta(days=1)
RESUME_WALK_AFTER = timedelta(minutes=1)
WATCHING_KEY = "nowwatching:v1:history:watching"
WATCHING_CHANGED_KEY = "nowwatching:v1:history:watching-changed-at"


# --- What plays, noted by the live answer ---------------------------------------------------------


def note_watching(what: str) -> None:
    """Called with a key of what plays ("idle", or type, id and start) each time the watching
    answer is fetched from Trakt (once per reuse window, not per request)."""
    try:
        if cache.get(WATCHING_KEY) != what:
            cache.set_many({WATCHING_KEY: what, WATCHING_CHANGED_KEY: time.time()}, timeout=None)
    except Exception:  # a cache that fails must not fail the watching answer
        log.warning("history job: could not note the watching change")


# --- The plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    full: bool
    reason: str


def due(now: datetime, state: SyncState, watching_changed_at: float | None) -> Plan | None:
    """The sync due now, if any."""
    minutes = settings.HISTORY_SYNC_MINUTES
    if minutes <= 0 or settings.EXPORT_ONLY:
        return None  # off, or no Trakt API app to sync from (the mirror is imported)
    if held(state.lease_owner, state.lease_until, now):
        return None  # a sync is running somewhere
    last = state.last_attempt_at
    interval = timedelta(minutes=minutes)
    if state.walk_next_page is not None:
        # A walk cut short (a restart, `docker stop`) goes on soon, not a whole interval later.
        interval = min(interval, RESUME_WALK_AFTER)
    interval_passed = last is None or now - last >= interval
    changed = watching_changed_at is not None and (
        last is None or watching_changed_at > last.timestamp()
    )
    if not (interval_passed or changed):
        return None
    if state.walk_next_page is not None:
        return Plan(False, f"continuing the {state.walk_kind}")
    if state.backfilled_at is None:
        return Plan(False, "backfill")
    if state.last_full_at is None or now - state.last_full_at >= FULL_EVERY:
        return Plan(True, "daily full sync")
    return Plan(False, "what plays changed" if changed else f"every {minutes} minutes")


# --- The thread -----------------------------------------------------------------------------------


class HistoryJob(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="history-sync", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        # Workers started together do not all look at once.
        self.stopping.wait(random.uniform(1, 5))
        while not self.stopping.is_set():
            close_old_connections()
            try:
                self.tick()
            finally:
                # This thread's own connection: not held open between ticks.
                connection.close()
            self.stopping.wait(TICK_SECONDS)

    def tick(self) -> None:
        try:
            plan = due(timezone.now(), state(), cache.get(WATCHING_CHANGED_KEY))
            if plan is not None:
                outcome = sync.sync(
                    full=plan.full, sleep=self.stopping.wait, should_stop=self.stopping.is_set
                )
                log.info("history sync (%s): %s", plan.reason, outcome.summary())
            fill_details(sleep=self.stopping.wait, should_stop=self.stopping.is_set)
            fill_posters(sleep=self.stopping.wait, should_stop=self.stopping.is_set)
        except sync.SyncBusy:
            pass  # another process is at it
        except sync.Stopped:
            pass
        except sync.SyncFailed as failure:
            # An outage of the database is the guard's to report (when it begins and ends),
            # not this job's at every tick.
            (log.info if failure.outage else log.warning)("history sync failed: %s", failure.reason)
        except DatabaseError as error:
            (log.info if reported(error) else log.warning)("history job: %s", problem(error))
        except UpstreamError as error:
            log.warning("history job: %s: %s", type(error).__name__, error)
        except Exception as error:  # the thread must outlive any surprise
            log.error("history job: unexpected %s: %s", type(error).__name__, error)

    def stop(self, wait: float = 10.0) -> None:
        """Ends the job at its next page (a worker exiting calls this: `docker stop`, a
        restart): at most one Trakt call (5 s) and one page's write away."""
        self.stopping.set()
        self.join(wait)


_job: HistoryJob | None = None


_lock = threading.Lock()


def start() -> HistoryJob | None:
    """Starts this process's job once (when HISTORY_SYNC_MINUTES is not 0)."""
    global _job
    if settings.HISTORY_SYNC_MINUTES <= 0:
        return None
    with _lock:
        if _job is None or not _job.is_alive():
            _job = HistoryJob()
            _job.start()
            atexit.register(_job.stop)
    return _job
