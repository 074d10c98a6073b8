"""The site keeps its history mirror current by itself: no cron, no worker to run.

Each web process runs one daemon thread (started by nowwatching/wsgi.py and asgi.py, which
every server imports and no management command or test does). Every TICK_SECONDS it asks
`due()` whether a sync is due and runs `profile.sync.sync()` (the same function as
`manage.py sync_trakt`):

- an incremental sync at most every HISTORY_SYNC_MINUTES;
- a full reconcile (`--full`) once a day, which also continues an interrupted walk;
- an incremental within a minute after the watching answer changed (services notes it with
  `note_watching()`), so what just finished shows up as recently watched.

Processes and machines share the SyncState lease, so only one sync ever runs; the others
find it taken and wait for their next tick. Nothing here runs inside a visitor's request.
Errors cost one log line and a try at the next due time. After a sync the thread looks up
TMDB posters for the titles the pages show, a few at a time.

HISTORY_SYNC_MINUTES=0 starts no thread: the mirror then changes only by `sync_trakt`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from profile import history, stats, sync
from profile.cache import kept_a_day
from profile.client import UpstreamError, tmdb
from profile.models import SyncState, Title
from profile.watching import best_image

log = logging.getLogger(__name__)

TICK_SECONDS = 30
FULL_EVERY = timedelta(days=1)
WATCHING_KEY = "nowwatching:v1:history:watching"
WATCHING_CHANGED_KEY = "nowwatching:v1:history:watching-changed-at"
# Posters: a few per tick, a pause between TMDB calls; a title without one is asked again
# after a week, one with one after two months (TMDB's best poster can change).
POSTER_BATCH = 20
POSTER_PAUSE_SECONDS = 0.5
POSTER_RETRY = timedelta(days=7)
POSTER_REFRESH = timedelta(days=60)


# --- What plays, noted by services.get_watching() -----------------------------------------------


def note_watching(what: str) -> None:
    """Called with a key of what plays ("idle", or type, id and start) each time the watching
    answer is fetched from Trakt (once per reuse window, not per request)."""
    try:
        if cache.get(WATCHING_KEY) != what:
            cache.set_many({WATCHING_KEY: what, WATCHING_CHANGED_KEY: time.time()}, timeout=None)
    except Exception:  # a cache that fails must not fail the watching answer
        log.warning("history job: could not note the watching change")


# --- The plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    full: bool
    reason: str


def due(now: datetime, state: SyncState, watching_changed_at: float | None) -> Plan | None:
    """The sync due now, if any."""
    minutes = settings.HISTORY_SYNC_MINUTES
    if minutes <= 0:
        return None
    if state.lease_until is not None and state.lease_until > now:
        return None  # a sync is running somewhere
    last = state.last_attempt_at
    interval_passed = last is None or now - last >= timedelta(minutes=minutes)
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


# --- Posters ------------------------------------------------------------------------------------


def titles_on_show() -> list[int]:
    """The titles the pages show: recently watched, the profile's lists, the years' tops."""
    now = timezone.now()
    page = history.home(now)
    ids: list[int] = [entry.item.title.id for entry in page.recent]
    if page.figures is not None:
        for row in (*page.figures.shows, *page.figures.rewatched):
            ids.append(row.title.id)
        if page.figures.comparison:
            ids += [d.title.id for d in page.figures.comparison.disagreements]
        for total in page.figures.years:
            year = history.year(total.year)
            if year is not None:
                ids += [row.title.id for row in (*year.shows, *year.movies)]
                if year.review.binge:
                    ids.append(year.review.binge.title.id)
    return list(dict.fromkeys(ids))


def fill_posters(
    limit: int = POSTER_BATCH,
    pause: float = POSTER_PAUSE_SECONDS,
    sleep: Callable[[float], object] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Looks up TMDB posters for up to `limit` titles on show that need one; how many it
    looked up. TMDB failing leaves the title for the next time."""
    now = timezone.now()
    wanted = titles_on_show()
    stale = (
        Q(poster_checked_at__isnull=True)
        | Q(poster_path="", poster_checked_at__lt=now - POSTER_RETRY)
        | Q(poster_checked_at__lt=now - POSTER_REFRESH)
    )
    candidates = {t.pk: t for t in Title.objects.filter(stale, pk__in=wanted)}
    if not candidates:
        return 0
    from profile import services  # services imports this module

    auth = services.tmdb_auth()
    done = 0
    for pk in wanted:
        title = candidates.get(pk)
        if title is None:
            continue
        if done >= limit or should_stop():
            break
        path = ""
        if title.tmdb_id is not None:
            kind = "movie" if title.kind == Title.MOVIE else "tv"
            images = kept_a_day(
                f"tmdb:{kind}:{title.tmdb_id}",
                lambda kind=kind, tmdb_id=title.tmdb_id: tmdb.images(auth, kind, tmdb_id),
                None,  # a failure is not kept: the title is asked again next time
            )
            if images is None:
                break  # TMDB is failing: leave the rest for later
            poster = best_image(images.posters)
            path = poster.file_path if poster else ""
            sleep(pause)
        Title.objects.filter(pk=pk).update(poster_path=path, poster_checked_at=now)
        done += 1
    if done:
        SyncState.objects.filter(pk=sync.STATE_PK).update(version=F("version") + 1)
        stats.forget_mirror()
    return done


# --- The thread ---------------------------------------------------------------------------------


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
            plan = due(timezone.now(), sync.state(), cache.get(WATCHING_CHANGED_KEY))
            if plan is not None:
                outcome = sync.sync(
                    full=plan.full, sleep=self.stopping.wait, should_stop=self.stopping.is_set
                )
                log.info("history sync (%s): %s", plan.reason, outcome.summary())
            fill_posters(sleep=self.stopping.wait, should_stop=self.stopping.is_set)
        except sync.SyncBusy:
            pass  # another process is at it
        except sync.Stopped:
            pass
        except sync.SyncFailed as failure:
            log.warning("history sync failed: %s", failure.reason)
        except (DatabaseError, UpstreamError) as error:
            log.warning("history job: %s: %s", type(error).__name__, error)
        except Exception as error:  # the thread must outlive any surprise
            log.error("history job: unexpected %s: %s", type(error).__name__, error)

    def stop(self, wait: float = 3.0) -> None:
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
            import atexit

            atexit.register(_job.stop)
    return _job
