"""The sync's walk over Trakt's history: which walk is due (the plan), a backfill or full walk
page by page, the sweep of plays Trakt no longer lists, an incremental, and the ratings.

Pages are streamed: at any time the run holds one page and a map of ids, never the history.
Each page is written in one transaction together with the walk's next page number, so an
interrupted walk continues where it stopped.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Max
from django.utils import timezone

from profile.client import trakt
from profile.mirror.state import forget_mirror, owner_identity, state, version_moved
from profile.mirror.sync.lease import LEASE, Lease
from profile.mirror.sync.outcome import Outcome, Reporter, Stopped, SyncFailed
from profile.mirror.sync.pacing import Calls, Pacer
from profile.mirror.sync.upkeep import forget_orphans, refresh_runs, relocalize, reset_mirror
from profile.mirror.sync.writer import Writer
from profile.models import Play, Rating, SyncState
from profile.signin.credentials import Credentials

log = logging.getLogger("profile.mirror.sync")

PAGE = trakt.PAGE_LIMIT
OVERLAP = timedelta(days=1)
MAX_PAGES = 100_000  # a guard against a Trakt that never says "last page"


class Walk:
    def __init__(self, used: Credentials, pace: bool, reporter: Reporter, sleep, should_stop):
        self.auth = used.auth
        self.user = used.user
        self.person = used.person
        self.progress = reporter
        self.sleep = sleep
        self.should_stop = should_stop
        self.pace = pace
        self.lease = Lease()
        self.writer = Writer(zoneinfo.ZoneInfo(settings.TIME_ZONE))
        self.fetch: Calls | None = None

    # --- the plan ---------------------------------------------------------------------------

    def go(self, full: bool) -> Outcome:
        st = state()
        pacer = Pacer(self.pace, st.pace_tokens, st.pace_at, lambda s: self.fetch.wait(s))
        self.fetch = Calls(pacer, self.progress, self.lease.renew, self.sleep, self.should_stop)
        SyncState.objects.row().update(last_attempt_at=timezone.now())
        identity = owner_identity(self.person)
        if st.owner != identity:
            if st.owner:
                self.progress.note("The mirror held another history: starting afresh.")
            reset_mirror(identity)
            st = state()
        relocalize(self.lease.renew, self.progress)
        refresh_runs(self.lease.renew)
        st = state()

        activities = None
        if self.auth.access_token and not settings.DEMO_MODE:
            activities = self.fetch(lambda: trakt.last_activities(self.auth))

        if st.walk_next_page is not None:
            outcome = self.walk(resumed=True)
            outcome.new += self.incremental().new  # what arrived while it was interrupted
        elif st.backfilled_at is None:
            outcome = self.walk(kind="backfill")
        elif full:
            outcome = self.walk(kind="full")
        else:
            moved = activities is None or (
                tuple(st.last_activities.get("history", ())) != activities.history_mark()
            )
            outcome = self.incremental() if moved else Outcome("unchanged")
            if activities is not None and (
                tuple(st.last_activities.get("ratings", ())) != activities.ratings_mark()
            ):
                outcome.ratings = self.ratings()

        if outcome.kind in ("backfill", "full"):
            outcome.ratings = self.ratings()
        if activities is not None:
            SyncState.objects.row().update(
                last_activities={
                    "history": list(activities.history_mark()),
                    "ratings": list(activities.ratings_mark()),
                }
            )
        refresh_runs(self.lease.renew)
        outcome.calls = self.fetch.count
        outcome.plays = Play.objects.count()
        SyncState.objects.row().update(
            last_success_at=timezone.now(), last_result=outcome.summary(), last_error=""
        )
        return outcome

    # --- walks ------------------------------------------------------------------------------

    def walk(self, kind: str = "", resumed: bool = False) -> Outcome:
        if not resumed:
            with transaction.atomic():
                SyncState.objects.row().update(
                    walk_kind=kind,
                    walk_next_page=1,
                    walk_end_at=timezone.now(),
                    walk_item_count=None,
                    walk_skipped=0,
                    generation=F("generation") + 1,
                )
        st = state()
        kind, page, end_at = st.walk_kind, st.walk_next_page, st.walk_end_at
        if resumed:
            self.progress.note(f"Continuing the interrupted {kind} at page {page}.")
        first_count = st.walk_item_count
        last = None
        announced = False
        new_here = 0
        while True:
            result = self.fetch(
                lambda page=page: trakt.history_page(
                    self.auth, self.user, page=page, limit=PAGE, end_at=end_at
                )
            )
            last = result.pagination
            if first_count is None:
                first_count = last.item_count
            if not announced:
                pages = last.page_count
                left = (pages - page) if pages is not None else 0
                self.progress.walk(kind, page, pages, self.fetch.pacer.seconds_for(left))
                announced = True
            with transaction.atomic():
                new = self.writer.store_plays(result.items, st.generation)
                self.lease.renew()
                SyncState.objects.row().update(
                    walk_next_page=page + 1,
                    walk_item_count=first_count,
                    walk_skipped=F("walk_skipped") + result.skipped,
                    **version_moved(new),
                )
            new_here += new
            self.progress.page(page, last.page_count, len(result.items))
            read = len(result.items) + result.skipped
            if _last_page(page, read, last):
                break
            page += 1
            if page > MAX_PAGES:
                raise SyncFailed("Trakt's history never came to a last page.", "bad_response")
            if self.should_stop():
                raise Stopped()
        return self.sweep(kind, end_at, first_count, last, new_here)

    def sweep(self, kind, end_at, first_count, last, new) -> Outcome:
        st = state()
        walked = Play.objects.filter(seen=st.generation, watched_at__lte=end_at).count()
        exact = (
            last is not None
            and last.item_count is not None
            and first_count == last.item_count
            and st.walk_skipped == 0
            and walked == last.item_count
        )
        outcome = Outcome(kind, new=new)
        with transaction.atomic():
            if exact:
                gone = Play.objects.filter(watched_at__lte=end_at).exclude(seen=st.generation)
                shows = set(
                    gone.filter(kind=Play.EPISODE).values_list("title_id", flat=True).distinct()
                )
                outcome.removed = gone.delete()[0]
                if outcome.removed:
                    # Their shows' runs are worked out again (refresh_runs).
                    Play.objects.filter(title_id__in=shows, kind=Play.EPISODE).update(
                        run_start=None
                    )
                    forget_orphans()
            else:
                note = (
                    "The history changed on Trakt during the walk (or some plays could not be "
                    "read): removals wait for the next full sync."
                )
                log.warning("history sync: %s", note)
                outcome.notes.append(note)
            now = timezone.now()
            done = {"last_full_at": now}
            if kind == "backfill":
                done["backfilled_at"] = now
            SyncState.objects.row().update(
                walk_kind="",
                walk_next_page=None,
                walk_end_at=None,
                walk_item_count=None,
                **done,
                **version_moved(outcome.removed),
            )
        return outcome

    def incremental(self) -> Outcome:
        newest = Play.objects.aggregate(newest=Max("watched_at"))["newest"]
        start_at = newest - OVERLAP if newest else None
        outcome = Outcome("incremental")
        generation = state().generation
        page = 1
        while True:
            result = self.fetch(
                lambda page=page: trakt.history_page(
                    self.auth, self.user, page=page, limit=PAGE, start_at=start_at
                )
            )
            with transaction.atomic():
                new = self.writer.store_plays(result.items, generation)
                self.lease.renew()
                SyncState.objects.row().update(**version_moved(new))
            outcome.new += new
            if _last_page(page, len(result.items) + result.skipped, result.pagination):
                return outcome
            page += 1
            if page > MAX_PAGES:
                raise SyncFailed("Trakt's history never came to a last page.", "bad_response")

    # --- ratings ----------------------------------------------------------------------------

    def ratings(self) -> int:
        SyncState.objects.row().update(ratings_generation=F("ratings_generation") + 1)
        generation = state().ratings_generation
        stored = 0
        exact = True
        for kind in trakt.RATING_KINDS:
            page = 1
            while True:
                result = self.fetch(
                    lambda kind=kind, page=page: trakt.ratings_page(
                        self.auth, self.user, kind, page=page, limit=PAGE
                    )
                )
                exact = exact and result.skipped == 0
                with transaction.atomic():
                    stored += self.writer.store_ratings(result.items, generation)
                    self.lease.renew()
                if _last_page(page, len(result.items) + result.skipped, result.pagination):
                    break
                page += 1
                if page > MAX_PAGES:
                    raise SyncFailed("Trakt's ratings never came to a last page.", "bad_response")
        with transaction.atomic():
            if exact:
                Rating.objects.exclude(seen=generation).delete()
            SyncState.objects.row().update(**version_moved(1))
        return stored

    # --- calls ------------------------------------------------------------------------------

    # --- the end ----------------------------------------------------------------------------

    def record_failure(self, error: BaseException) -> None:
        if isinstance(error, SyncFailed):
            reason = error.reason
        elif isinstance(error, Stopped):
            reason = "Stopped: the process was shutting down."
        elif isinstance(error, KeyboardInterrupt):
            reason = "Interrupted."
        else:
            reason = f"Failed: {type(error).__name__}."
        try:
            SyncState.objects.row().update(last_error=reason[:1000], last_error_at=timezone.now())
        except DatabaseError:
            pass

    def finish(self) -> None:
        forget_mirror()
        try:
            if self.fetch is not None:
                pacer = self.fetch.pacer
                pacer._refill()
                SyncState.objects.row().filter(lease_owner=self.lease.token).update(
                    pace_tokens=pacer.tokens, pace_at=timezone.now()
                )
        except DatabaseError:
            pass  # the pace is kept at the next run's end
        try:
            self.lease.release()
        except DatabaseError:
            # Known as ended here: a sync of this machine takes it over at once.
            log.warning("history sync: could not release the lease; it expires in %s", LEASE)


def _last_page(page: int, read: int, pagination: trakt.Pagination) -> bool:
    """Trakt's headers say which page is the last; without them, a short page is."""
    if read == 0:
        return True
    if pagination.page_count is not None:
        return page >= pagination.page_count
    limit = pagination.limit or PAGE
    return read < limit
