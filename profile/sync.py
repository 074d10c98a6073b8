"""The history mirror: the owner's whole Trakt history (and ratings) kept in the database.

`sync()` is the one way in; `manage.py sync_trakt` and the background job (profile/jobs.py)
both call it.

- The first run **backfills**: it walks /users/{user}/history page by page (250 plays, Trakt's
  cap) with `end_at` fixed when the walk began, so pages stay put while new plays arrive.
  Each page is written in one transaction together with the walk's next page number, so an
  interrupted walk continues where it stopped; upserts on Trakt's history id make a page
  written twice harmless.
- Later runs are **incremental**: the plays since the newest one kept, less a day of overlap.
  With an OAuth token, /sync/last_activities is asked first and nothing else when nothing
  moved; without one, the first page is the check (one call either way).
- **Full** (`--full`, daily by the job) walks the whole history again, marking each play it
  sees with the walk's generation, then sweeps the plays it did not see (deleted on Trakt) in
  one DELETE: no set of ids is kept in memory. The sweep runs only when the walk was exact
  (Trakt's item count did not move during the walk and every play was read).
- Ratings (movies, shows, episodes) are walked after each backfill or full walk, and when
  /sync/last_activities says they moved.

Pages are streamed: at any time the process holds one page and a map of ids, never the
history. Calls are paced to PACE_CALLS per PACE_SECONDS (a token bucket with a small burst,
so an incremental is instant) and a 429 is waited out (Retry-After) before carrying on.

One sync at a time across processes and machines: a lease on the SyncState row, taken with a
conditional UPDATE (`lease_until < now`), renewed after each page and released at the end;
the same on SQLite and PostgreSQL (SQLite ignores select_for_update).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from profile import stats
from profile.auth import Credentials, credentials
from profile.client import UpstreamError, trakt
from profile.client.schemas import Episode as EpisodeBody
from profile.client.schemas import HistoryPlay, Movie, RatedItem
from profile.models import Episode, Genre, Play, Rating, SyncState, Title

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE = trakt.PAGE_LIMIT
OVERLAP = timedelta(days=1)
LEASE = timedelta(minutes=2)
# Trakt allows about 500 GET calls per 5 minutes per app; the sync keeps to a fifth of it and
# leaves the rest to the banner.
PACE_CALLS = 100
PACE_SECONDS = 300
PACE_BURST = 10
# How often a failing call is tried again before the run gives up (it resumes next time).
RATE_LIMIT_WAITS = 10
TRANSIENT_RETRIES = 3
TRANSIENT_WAIT_SECONDS = 5
MAX_PAGES = 100_000  # a guard against a Trakt that never says "last page"
RELOCALIZE_BATCH = 2000
STATE_PK = 1


class SyncBusy(Exception):
    """Another sync holds the lease."""

    def __init__(self, holder: str, until: datetime | None):
        super().__init__(f"Another sync is running ({holder or 'unknown'}).")
        self.holder = holder
        self.until = until


class SyncFailed(Exception):
    """The run stopped; `reason` says why in a sentence. What was written stays."""

    def __init__(self, reason: str, code: str = "failed"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Stopped(Exception):
    """The process is shutting down (the background job's `should_stop`)."""


@dataclass
class Outcome:
    kind: str  # "backfill", "full", "incremental" or "unchanged"
    plays: int = 0  # plays in the mirror afterwards
    new: int = 0
    removed: int = 0
    calls: int = 0
    ratings: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        calls = "Trakt call" if self.calls == 1 else "Trakt calls"
        return (
            f"{self.plays:,} plays, {self.new:,} new, {self.removed:,} removed, "
            f"{self.calls:,} {calls}"
        )


class Progress(Protocol):
    """What a run tells whoever watches it (the command's progress bar, or nobody)."""

    def walk(self, kind: str, first_page: int, pages: int | None, seconds: float) -> None: ...

    def page(self, page: int, pages: int | None, stored: int) -> None: ...

    def note(self, text: str) -> None: ...


class Quiet:
    def walk(self, kind, first_page, pages, seconds):
        pass

    def page(self, page, pages, stored):
        pass

    def note(self, text):
        log.info("history sync: %s", text)


# --- State and lease ----------------------------------------------------------------------------


def state() -> SyncState:
    """The one SyncState row, created on first use."""
    try:
        return SyncState.objects.get_or_create(pk=STATE_PK)[0]
    except IntegrityError:  # created by another process between our get and create
        return SyncState.objects.get(pk=STATE_PK)


def owner_identity(person: str) -> str:
    """Whose history the mirror holds: another person or another Trakt means starting afresh
    (the same person signed in, with the `me` paths, or not is the same history)."""
    if settings.DEMO_MODE:
        return "demo"
    return f"{settings.TRAKT_API_URL}/users/{person}"


class Lease:
    """The right to sync, held in the SyncState row."""

    def __init__(self) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def take(self) -> None:
        state()  # the row exists
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = SyncState.objects.filter(free, pk=STATE_PK).update(
            lease_owner=self.token, lease_until=now + LEASE
        )
        if not taken:
            holder = SyncState.objects.filter(pk=STATE_PK).values("lease_owner", "lease_until")
            row = holder.first() or {}
            raise SyncBusy(row.get("lease_owner", ""), row.get("lease_until"))

    def renew(self) -> None:
        renewed = SyncState.objects.filter(pk=STATE_PK, lease_owner=self.token).update(
            lease_until=timezone.now() + LEASE
        )
        if not renewed:
            # Held too long without renewing (a frozen process): another sync may be running.
            raise SyncFailed("The sync lost its lease to another sync; stopping.", "lease_lost")

    def release(self) -> None:
        SyncState.objects.filter(pk=STATE_PK, lease_owner=self.token).update(
            lease_owner="", lease_until=None
        )


# --- Pace ---------------------------------------------------------------------------------------


class Pacer:
    """A token bucket: PACE_BURST calls at once, then PACE_CALLS per PACE_SECONDS. The bucket
    is kept in SyncState between runs, so many short runs do not add up to more."""

    def __init__(self, enabled: bool, tokens: float | None, at: datetime | None, sleep):
        self.enabled = enabled
        self.rate = PACE_CALLS / PACE_SECONDS
        self.sleep = sleep
        now = time.time()
        if tokens is None or at is None:
            self.tokens = float(PACE_BURST)
        else:
            self.tokens = min(PACE_BURST, tokens + max(0.0, now - at.timestamp()) * self.rate)
        self.at = now

    def _refill(self) -> None:
        now = time.time()
        self.tokens = min(PACE_BURST, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self) -> None:
        if not self.enabled:
            return
        self._refill()
        if self.tokens < 1:
            self.sleep((1 - self.tokens) / self.rate)
            self._refill()
        self.tokens = max(0.0, self.tokens - 1)

    def seconds_for(self, calls: int) -> float:
        """How long `calls` more calls take at this pace."""
        if not self.enabled:
            return 0.0
        self._refill()
        return max(0.0, calls - self.tokens) / self.rate


# --- The run ------------------------------------------------------------------------------------


def sync(
    *,
    full: bool = False,
    pace: bool = True,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Bring the mirror up to date (see the module's docstring); the Outcome says what it did.

    Raises SyncBusy when another sync runs, SyncFailed (with the reason) when this one could
    not finish; what it wrote before stays, and the next run continues from there.
    """
    try:
        used = credentials()
    except UpstreamError as error:
        raise SyncFailed(error.message, error.code) from None
    run = _Run(used, pace and not settings.DEMO_MODE, progress or Quiet(), sleep, should_stop)
    run.lease.take()
    try:
        try:
            outcome = run.go(full)
        except UpstreamError as error:
            raise SyncFailed(error.message, error.code) from None
        except DatabaseError as error:
            raise SyncFailed(f"The database failed: {error}", "database") from None
    except BaseException as error:
        run.record_failure(error)
        raise
    finally:
        run.finish()
    return outcome


class _Run:
    def __init__(self, used: Credentials, pace, progress, sleep, should_stop):
        self.auth = used.auth
        self.user = used.user
        self.person = used.person
        self.progress = progress
        self.sleep = sleep
        self.should_stop = should_stop
        self.lease = Lease()
        self.calls = 0
        self.pacer: Pacer | None = None
        self.pace = pace
        self.zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        # Rows already written by this run: (kind, trakt id) -> pk. Bounded by the number of
        # titles and episodes, not plays.
        self.titles: dict[tuple[str, int], int] = {}
        self.episodes: dict[int, int] = {}
        self.genres: dict[str, int] = {}

    # --- the plan ---------------------------------------------------------------------------

    def go(self, full: bool) -> Outcome:
        st = state()
        self.pacer = Pacer(self.pace, st.pace_tokens, st.pace_at, self._sleep)
        SyncState.objects.filter(pk=STATE_PK).update(last_attempt_at=timezone.now())
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
            SyncState.objects.filter(pk=STATE_PK).update(
                last_activities={
                    "history": list(activities.history_mark()),
                    "ratings": list(activities.ratings_mark()),
                }
            )
        refresh_runs(self.lease.renew)
        outcome.calls = self.calls
        outcome.plays = Play.objects.count()
        SyncState.objects.filter(pk=STATE_PK).update(
            last_success_at=timezone.now(), last_result=outcome.summary(), last_error=""
        )
        return outcome

    # --- walks ------------------------------------------------------------------------------

    def walk(self, kind: str = "", resumed: bool = False) -> Outcome:
        if not resumed:
            with transaction.atomic():
                SyncState.objects.filter(pk=STATE_PK).update(
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
                self.progress.walk(kind, page, pages, self.pacer.seconds_for(left))
                announced = True
            with transaction.atomic():
                new = self.store_plays(result.items, st.generation)
                self.lease.renew()
                SyncState.objects.filter(pk=STATE_PK).update(
                    walk_next_page=page + 1,
                    walk_item_count=first_count,
                    walk_skipped=F("walk_skipped") + result.skipped,
                    **_changed(new),
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
            SyncState.objects.filter(pk=STATE_PK).update(
                walk_kind="",
                walk_next_page=None,
                walk_end_at=None,
                walk_item_count=None,
                **done,
                **_changed(outcome.removed),
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
                new = self.store_plays(result.items, generation)
                self.lease.renew()
                SyncState.objects.filter(pk=STATE_PK).update(**_changed(new))
            outcome.new += new
            if _last_page(page, len(result.items) + result.skipped, result.pagination):
                return outcome
            page += 1
            if page > MAX_PAGES:
                raise SyncFailed("Trakt's history never came to a last page.", "bad_response")

    # --- ratings ----------------------------------------------------------------------------

    def ratings(self) -> int:
        SyncState.objects.filter(pk=STATE_PK).update(ratings_generation=F("ratings_generation") + 1)
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
                    stored += self.store_ratings(result.items, generation)
                    self.lease.renew()
                if _last_page(page, len(result.items) + result.skipped, result.pagination):
                    break
                page += 1
                if page > MAX_PAGES:
                    raise SyncFailed("Trakt's ratings never came to a last page.", "bad_response")
        with transaction.atomic():
            if exact:
                Rating.objects.exclude(seen=generation).delete()
            SyncState.objects.filter(pk=STATE_PK).update(**_changed(1))
        return stored

    # --- calls ------------------------------------------------------------------------------

    def fetch(self, call: Callable[[], T]) -> T:
        """One Trakt call, paced; a 429 is waited out and a passing failure tried again."""
        waits = retries = 0
        while True:
            if self.should_stop():
                raise Stopped()
            self.pacer.take()
            self.calls += 1
            try:
                return call()
            except UpstreamError as error:
                if error.code == "rate_limited" and waits < RATE_LIMIT_WAITS:
                    if error.status is None:
                        self.calls -= 1  # refused here (another caller's 429), never sent
                    waits += 1
                    wait = error.retry_after or 60
                    self.progress.note(f"Trakt's rate limit: waiting {wait} s, then carrying on.")
                    self._sleep(wait)
                    continue
                if error.code in ("timeout", "unavailable") and retries < TRANSIENT_RETRIES:
                    retries += 1
                    self._sleep(TRANSIENT_WAIT_SECONDS * retries)
                    continue
                raise

    def _sleep(self, seconds: float) -> None:
        """Sleeps, renewing the lease on long waits (a Retry-After can be an hour)."""
        left = seconds
        while left > 0:
            if self.should_stop():
                raise Stopped()
            chunk = min(left, 30.0)
            self.sleep(chunk)
            left -= chunk
            if left > 0:
                self.lease.renew()

    # --- writing ----------------------------------------------------------------------------

    def store_plays(self, items: list[HistoryPlay], generation: int) -> int:
        """Upserts a page of plays (and their titles and episodes); how many were new."""
        unique: dict[int, HistoryPlay] = {}
        for item in items:
            unique.setdefault(item.id, item)
        if not unique:
            return 0
        movies = {i.movie.ids.trakt: i.movie for i in unique.values() if i.type == "movie"}
        shows = {i.show.ids.trakt: i.show for i in unique.values() if i.type == "episode"}
        self.upsert_titles(Title.MOVIE, movies)
        self.upsert_titles(Title.SHOW, shows)
        self.upsert_episodes(
            {i.episode.ids.trakt: (i.show, i.episode) for i in unique.values() if i.episode}
        )
        # What each play kept so far says of its run: its time and length.
        existing = {
            history_id: (minute, runtime)
            for history_id, minute, runtime in Play.objects.filter(
                history_id__in=unique
            ).values_list("history_id", "epoch_minute", "runtime")
        }
        plays = [self.play(item, generation) for item in unique.values()]
        Play.objects.bulk_create(
            plays,
            update_conflicts=True,
            unique_fields=["history_id"],
            update_fields=[
                "watched_at",
                "action",
                "kind",
                "title",
                "episode",
                "runtime",
                "local_date",
                "local_hour",
                "local_weekday",
                "epoch_minute",
                "seen",
            ],
        )
        # A play seen again keeps its run (a --full walk sees every play again); one whose time
        # or length changed on Trakt has its show's runs worked out again (refresh_runs).
        moved = [
            play.history_id
            for play in plays
            if play.history_id in existing
            and existing[play.history_id] != (play.epoch_minute, play.runtime)
        ]
        if moved:
            Play.objects.filter(history_id__in=moved).update(run_start=None)
        return len(unique) - len(existing)

    def play(self, item: HistoryPlay, generation: int) -> Play:
        watched = datetime.fromisoformat(item.watched_at)
        if item.type == "movie":
            title = self.titles[(Title.MOVIE, item.movie.ids.trakt)]
            episode = None
            runtime = item.movie.runtime or 0
        else:
            title = self.titles[(Title.SHOW, item.show.ids.trakt)]
            episode = self.episodes[item.episode.ids.trakt]
            runtime = item.episode.runtime or item.show.runtime or 0
        play = Play(
            history_id=item.id,
            watched_at=watched,
            action=item.action,
            kind=item.type,
            title_id=title,
            episode_id=episode,
            runtime=runtime,
            seen=generation,
        )
        localize(play, self.zone)
        return play

    def upsert_titles(self, kind: str, bodies: dict[int, Movie]) -> None:
        fresh = {
            trakt_id: body
            for trakt_id, body in bodies.items()
            if (kind, trakt_id) not in self.titles
        }
        if not fresh:
            return
        rows = [
            Title(
                kind=kind,
                trakt_id=trakt_id,
                slug=body.ids.slug or "",
                tmdb_id=body.ids.tmdb,
                imdb_id=body.ids.imdb or "",
                tvdb_id=body.ids.tvdb,
                title=body.title or "",
                year=body.year,
                runtime=body.runtime,
                community_rating=body.rating,
                community_votes=body.votes,
            )
            for trakt_id, body in fresh.items()
        ]
        Title.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kind", "trakt_id"],
            update_fields=[
                "slug",
                "tmdb_id",
                "imdb_id",
                "tvdb_id",
                "title",
                "year",
                "runtime",
                "community_rating",
                "community_votes",
            ],
        )
        for row in rows:
            self.titles[(kind, row.trakt_id)] = row.pk
        self.set_genres({row.pk: fresh[row.trakt_id].genres for row in rows})

    def set_genres(self, wanted: dict[int, Iterable[str]]) -> None:
        slugs = {slug for genres in wanted.values() for slug in genres} - set(self.genres)
        if slugs:
            Genre.objects.bulk_create([Genre(slug=s) for s in slugs], ignore_conflicts=True)
            self.genres |= dict(Genre.objects.filter(slug__in=slugs).values_list("slug", "pk"))
        through = Title.genres.through
        have: dict[int, set[int]] = {pk: set() for pk in wanted}
        for title_id, genre_id in through.objects.filter(title_id__in=wanted).values_list(
            "title_id", "genre_id"
        ):
            have[title_id].add(genre_id)
        add, drop = [], Q(pk__in=[])
        for title_id, genres in wanted.items():
            want = {self.genres[slug] for slug in genres}
            add += [through(title_id=title_id, genre_id=g) for g in want - have[title_id]]
            if extra := have[title_id] - want:
                drop |= Q(title_id=title_id, genre_id__in=extra)
        through.objects.bulk_create(add, ignore_conflicts=True)
        through.objects.filter(drop).delete()

    def upsert_episodes(self, bodies: dict[int, tuple[Movie, EpisodeBody]]) -> None:
        fresh = {k: v for k, v in bodies.items() if k not in self.episodes}
        if not fresh:
            return
        rows = [
            Episode(
                trakt_id=trakt_id,
                show_id=self.titles[(Title.SHOW, show.ids.trakt)],
                season=episode.season,
                number=episode.number,
                title=episode.title or "",
                runtime=episode.runtime,
                tmdb_id=episode.ids.tmdb,
                imdb_id=episode.ids.imdb or "",
                tvdb_id=episode.ids.tvdb,
                community_rating=episode.rating,
                community_votes=episode.votes,
            )
            for trakt_id, (show, episode) in fresh.items()
        ]
        Episode.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["trakt_id"],
            update_fields=[
                "show",
                "season",
                "number",
                "title",
                "runtime",
                "tmdb_id",
                "imdb_id",
                "tvdb_id",
                "community_rating",
                "community_votes",
            ],
        )
        for row in rows:
            self.episodes[row.trakt_id] = row.pk

    def store_ratings(self, items: list[RatedItem], generation: int) -> int:
        wanted = [item for item in items if item.type in ("movie", "show", "episode")]
        movies = {i.movie.ids.trakt: i.movie for i in wanted if i.type == "movie"}
        shows = {i.show.ids.trakt: i.show for i in wanted if i.type in ("show", "episode")}
        self.upsert_titles(Title.MOVIE, movies)
        self.upsert_titles(Title.SHOW, shows)
        self.upsert_episodes(
            {i.episode.ids.trakt: (i.show, i.episode) for i in wanted if i.episode}
        )
        rows: dict[tuple[str, int], Rating] = {}
        for item in wanted:
            if item.type == "movie":
                trakt_id, title = (
                    item.movie.ids.trakt,
                    self.titles[(Title.MOVIE, item.movie.ids.trakt)],
                )
                episode = None
            else:
                title = self.titles[(Title.SHOW, item.show.ids.trakt)]
                episode = self.episodes[item.episode.ids.trakt] if item.type == "episode" else None
                trakt_id = item.episode.ids.trakt if item.type == "episode" else item.show.ids.trakt
            rows.setdefault(
                (item.type, trakt_id),
                Rating(
                    kind=item.type,
                    trakt_id=trakt_id,
                    title_id=title,
                    episode_id=episode,
                    rating=item.rating,
                    rated_at=datetime.fromisoformat(item.rated_at),
                    seen=generation,
                ),
            )
        Rating.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["kind", "trakt_id"],
            update_fields=["title", "episode", "rating", "rated_at", "seen"],
        )
        return len(rows)

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
            SyncState.objects.filter(pk=STATE_PK).update(
                last_error=reason[:1000], last_error_at=timezone.now()
            )
        except DatabaseError:
            pass

    def finish(self) -> None:
        stats.forget_mirror()
        try:
            if self.pacer is not None:
                self.pacer._refill()
                SyncState.objects.filter(pk=STATE_PK, lease_owner=self.lease.token).update(
                    pace_tokens=self.pacer.tokens, pace_at=timezone.now()
                )
            self.lease.release()
        except DatabaseError:
            log.warning("history sync: could not release the lease; it expires in %s", LEASE)


def _last_page(page: int, read: int, pagination: trakt.Pagination) -> bool:
    """Trakt's headers say which page is the last; without them, a short page is."""
    if read == 0:
        return True
    if pagination.page_count is not None:
        return page >= pagination.page_count
    limit = pagination.limit or PAGE
    return read < limit


def _changed(count: int) -> dict:
    """The SyncState update that marks the mirror changed (when `count` says it did)."""
    return {"version": F("version") + 1} if count else {}


# --- Local buckets --------------------------------------------------------------------------------


def localize(play: Play, zone: zoneinfo.ZoneInfo) -> None:
    """The play's day, hour and weekday in `zone` (exact across DST: from the UTC moment)."""
    local = play.watched_at.astimezone(zone)
    play.local_date = local.date()
    play.local_hour = local.hour
    play.local_weekday = local.weekday()
    play.epoch_minute = int(play.watched_at.timestamp() // 60)


def relocalize(renew: Callable[[], None] = lambda: None, progress: Progress | None = None) -> int:
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
    SyncState.objects.filter(pk=STATE_PK).update(time_zone=zone_name, version=F("version") + 1)
    return done


# --- Runs of episodes (the longest binge) ---------------------------------------------------------

RUN_GAP_MINUTES = 60


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
        updates = []
        start = previous_end = None
        for pk, minute, runtime, old in rows.iterator(chunk_size=2000):
            if previous_end is None or minute - runtime - previous_end >= RUN_GAP_MINUTES:
                start = minute - runtime
            if old != start:
                updates.append(Play(pk=pk, run_start=start))
            previous_end = minute
        with transaction.atomic():
            Play.objects.bulk_update(updates, ["run_start"], batch_size=1000)
            # The binges drawn from them change: so does the mirror's version.
            SyncState.objects.filter(pk=STATE_PK).update(**_changed(len(updates)))
            renew()
        changed += len(updates)
    return changed


# --- Housekeeping ---------------------------------------------------------------------------------


def reset_mirror(identity: str) -> None:
    """Forget every play, rating and title: the mirror is about to hold another history."""
    with transaction.atomic():
        Play.objects.all().delete()
        Rating.objects.all().delete()
        Episode.objects.all().delete()
        Title.objects.all().delete()
        SyncState.objects.filter(pk=STATE_PK).update(
            owner=identity,
            walk_kind="",
            walk_next_page=None,
            walk_end_at=None,
            walk_item_count=None,
            backfilled_at=None,
            last_full_at=None,
            last_activities={},
            time_zone=settings.TIME_ZONE,
            version=F("version") + 1,
        )


def forget_orphans() -> None:
    """Titles left with neither a play nor a rating (their plays were deleted on Trakt)."""
    Title.objects.filter(plays__isnull=True, ratings__isnull=True).delete()
