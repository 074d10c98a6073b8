"""The sync's walk over Trakt's history: which walk is due (the plan), a backfill or full walk
window by window (windows.py), the sweep of plays Trakt no longer lists, an incremental, and
the ratings.

Pages are streamed: at any time the run holds one page and a map of ids, never the history.
Each page is written in one transaction together with where the walk goes next, so an
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
from profile.mirror.state import NO_WALK, forget_mirror, owner_identity, state, version_moved
from profile.mirror.sync.lease import LEASE, Lease
from profile.mirror.sync.library import Library
from profile.mirror.sync.outcome import Outcome, Reporter, Stopped, SyncFailed
from profile.mirror.sync.pacing import Calls, Pacer
from profile.mirror.sync.paging import last_page
from profile.mirror.sync.upkeep import forget_orphans, refresh_runs, relocalize, reset_mirror
from profile.mirror.sync.windows import Window, after, moment, read
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
        library_marks = self.library(outcome, activities, full)
        if activities is not None:
            SyncState.objects.row().update(
                last_activities={
                    "history": list(activities.history_mark()),
                    "ratings": list(activities.ratings_mark()),
                    "library": library_marks,
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
        """A walk over the whole history (resumed where it stopped), then one more if Trakt's
        count says the history moved where the walk had already been."""
        outcome = self._one_walk(kind, resumed)
        # A walk of one window read the whole history at once: nothing was behind it.
        if outcome.exact and self.pages_walked > 1 and self._moved_behind():
            note = "The history changed on Trakt where the walk had been: walking it once more."
            self.progress.note(note)
            again = self._one_walk("full", False)
            outcome.new += again.new
            outcome.removed += again.removed
            outcome.notes += again.notes
        return outcome

    def _one_walk(self, kind: str, resumed: bool) -> Outcome:
        if not resumed:
            now = moment(timezone.now())
            with transaction.atomic():
                SyncState.objects.row().update(
                    walk_kind=kind,
                    walk_next_page=1,
                    walk_end_at=now,
                    walk_cursor=now,
                    walk_cursor_page=1,
                    walk_item_count=None,
                    walk_skipped=0,
                    generation=F("generation") + 1,
                )
        st = state()
        kind, page, end_at = st.walk_kind, st.walk_next_page, st.walk_end_at
        # A walk begun by an older version, which kept no cursor, starts again from the top.
        window = Window(st.walk_cursor or end_at, st.walk_cursor_page, st.walk_item_count)
        if resumed:
            self.progress.note(f"Continuing the interrupted {kind} at page {page}.")
        announced = False
        new_here = 0
        while True:
            result = self.fetch(lambda window=window: read(self.auth, self.user, window))
            step = after(window, result)
            # The pages done and the pages Trakt says are left.
            left_here = result.pagination.page_count
            pages = None if left_here is None else page - window.page + left_here
            if not announced:
                left = pages - page if pages is not None else 0
                self.progress.walk(kind, page, pages, self.fetch.pacer.seconds_for(left))
                announced = True
            with transaction.atomic():
                new = self.writer.store_plays(result.items, st.generation)
                self.lease.renew()
                SyncState.objects.row().update(
                    walk_next_page=page + 1,
                    walk_cursor=step.next.cursor,
                    walk_cursor_page=step.next.page,
                    walk_item_count=step.next.count,
                    walk_skipped=F("walk_skipped") + result.skipped + int(step.moved),
                    **version_moved(new),
                )
            new_here += new
            self.progress.page(page, pages, len(result.items))
            if step.done:
                break
            window = step.next
            page += 1
            if page > MAX_PAGES:
                raise SyncFailed("Trakt's history never came to a last page.", "bad_response")
            if self.should_stop():
                raise Stopped()
        self.pages_walked = page
        return self.sweep(kind, end_at, new_here)

    def sweep(self, kind: str, end_at, new: int) -> Outcome:
        """The plays the walk did not see, up to its end: Trakt no longer listed them when
        their window was read (no window skips a play: windows.py), so they are deleted,
        unless some play could not be read, or a window moved while it was paged."""
        st = state()
        outcome = Outcome(kind, new=new, exact=st.walk_skipped == 0)
        with transaction.atomic():
            if outcome.exact:
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
                    "Some plays could not be read from Trakt (or its history moved where the "
                    "walk was reading): removals wait for the next full sync."
                )
                log.warning("history sync: %s", note)
                outcome.notes.append(note)
            now = timezone.now()
            done = {"last_full_at": now}
            if kind == "backfill":
                done["backfilled_at"] = now
            SyncState.objects.row().update(
                **NO_WALK,
                **done,
                **version_moved(outcome.removed),
            )
        self.last_walk = (st.generation, end_at)
        return outcome

    def _moved_behind(self) -> bool:
        """Whether Trakt now lists another number of plays up to the walk's end than the walk
        saw: a play deleted or added where the walk had already read (its window cannot
        show that). One call; only ever a reason to look again, never to delete."""
        generation, end_at = self.last_walk
        answer = self.fetch(lambda: read(self.auth, self.user, Window(end_at), limit=1))
        listed = answer.pagination.item_count
        seen = Play.objects.filter(seen=generation, watched_at__lte=end_at).count()
        return listed is not None and listed != seen

    def incremental(self) -> Outcome:
        """The plays since the newest one kept, less OVERLAP, by windows as a walk reads."""
        newest = Play.objects.aggregate(newest=Max("watched_at"))["newest"]
        start_at = newest - OVERLAP if newest else None
        outcome = Outcome("incremental")
        generation = state().generation
        window = Window(moment(timezone.now()))
        page = 1
        while True:
            result = self.fetch(
                lambda window=window: read(self.auth, self.user, window, start_at=start_at)
            )
            with transaction.atomic():
                new = self.writer.store_plays(result.items, generation)
                self.lease.renew()
                SyncState.objects.row().update(**version_moved(new))
            outcome.new += new
            step = after(window, result)
            if step.done:
                return outcome
            window = step.next
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
                if last_page(page, len(result.items) + result.skipped, result.pagination):
                    break
                page += 1
                if page > MAX_PAGES:
                    raise SyncFailed("Trakt's ratings never came to a last page.", "bad_response")
        with transaction.atomic():
            if exact:
                Rating.objects.exclude(seen=generation).delete()
            SyncState.objects.row().update(**version_moved(1))
        return stored

    # --- the library (favourites, watchlist, lists, comments) --------------------------------

    def library(self, outcome: Outcome, activities, full: bool) -> dict:
        """Fetches the library's sections that are due (mirror/sync/library.py); the marks
        of /sync/last_activities to keep for them."""
        st = state()
        marks = activities.library_marks() if activities is not None else None
        everything = full or outcome.kind in ("backfill", "full")
        library = Library(self.fetch, self.writer, self.auth, self.user, self.lease.renew)
        try:
            done = library.refresh(library.due(st, marks, everything), everything)
        finally:
            outcome.library_calls = library.calls
            outcome.library = dict(library.counts)
        now = timezone.now().isoformat()
        SyncState.objects.row().update(
            library_fetched_at=st.library_fetched_at | dict.fromkeys(done, now)
        )
        kept = dict(st.last_activities.get("library", {}))
        for section in done:
            if marks is not None:
                kept[section] = list(marks[section])
        return kept

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
