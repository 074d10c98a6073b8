"""The mirror's figures as the pages show them: from `profile.mirror` (its queries and the
years' review), drawn by charts.py.

What depends only on the mirror is computed once per mirror version (and local day) and
cached; what depends on the moment ("2 h ago") is added per request. Reading the mirror
never calls Trakt: the sync (profile/mirror/sync/) fills it in the background.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse

from nowwatching.databases.guard import reported
from profile import formatting
from profile.client import TraktStats
from profile.mirror import library, queries
from profile.mirror.library import CommentItem
from profile.mirror.library import Entry as Shelved
from profile.mirror.queries import Bucket, GenreShare, RatingComparison, Streaks, TitleCount
from profile.mirror.review import YearReview, YearTotal, year_list, year_review, year_totals
from profile.mirror.state import Mirror, cached, mirror
from profile.mirror.titles import PlayItem, TitleInfo
from profile.pages import charts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recent:
    item: PlayItem
    ago: str


@dataclass(frozen=True)
class Ranked:
    """A row of a ranked list: a title or a genre, its figure, and its bar."""

    name: str
    figure: str
    meter: str
    title: TitleInfo | None = None
    note: str = ""
    url: str = ""  # the title's page, or the diary of the genre


def diary_link(**filters: object) -> str:
    """The diary with these filters (/history?day=2025-03-04)."""
    return reverse("diary") + "?" + urlencode({k: str(v) for k, v in filters.items()})


@dataclass(frozen=True)
class HomeFigures:
    """Everything the page draws from the mirror, cached per version and day."""

    plays: int
    minutes: int
    heatmap: charts.Chart
    legend: list[charts.LegendStep]
    streaks: Streaks
    last_year_plays: int
    last_year_minutes: int
    hours: charts.Chart
    weekdays: charts.Chart
    genres: list[Ranked]
    shows: list[Ranked]
    rewatched: list[Ranked]
    comparison: RatingComparison | None
    spread: charts.Chart | None
    years: list[YearTotal]
    busiest_hour: str
    busiest_weekday: str
    time_zone: str

    @property
    def last_year_plays_text(self) -> str:
        n = self.last_year_plays
        return formatting.counted(n, "play")

    @property
    def last_year_time(self) -> str:
        return formatting.watch_time(self.last_year_minutes)

    @property
    def comparison_mean(self) -> str:
        if self.comparison is None:
            return ""
        mean = self.comparison.mean
        if abs(mean) < 0.05:
            return "level with the community"
        side = "above" if mean > 0 else "below"
        return f"{abs(mean):.1f} point{'' if round(abs(mean), 1) == 1 else 's'} {side} it"

    @property
    def heatmap_caption(self) -> str:
        return (
            f"One square a day ({self.time_zone}), darker for more time watched. "
            "Each square opens that day's plays; focus or tap one for its figures."
        )


class HomeHistory:
    """The mirror's part of the page. The figures are read only when the page needs them:
    a page whose sections are cached (`cache_key`) never unpickles them."""

    def __init__(
        self, state, recent=(), figures=None, today: date | None = None, trouble="", shelves=None
    ):
        self.state: Mirror | None = state  # None: the database could not be read
        # Why Trakt cannot be asked right now ("" if it can): an empty mirror says so rather
        # than that it is being fetched.
        self.trouble = trouble
        self._recent = recent if callable(recent) else (lambda: list(recent))
        self._figures = figures if callable(figures) else (lambda: figures)
        self._shelves = shelves or (lambda: ([], []))
        self.today = today

    @cached_property
    def recent(self) -> list[Recent]:
        return self._recent()

    @cached_property
    def figures(self) -> HomeFigures | None:
        return self._figures()

    @cached_property
    def _shelf_pair(self) -> tuple[list[Shelved], list[CommentItem]]:
        return self._shelves()

    @property
    def favorites(self) -> list[Shelved]:
        """The owner's favourites, in their order (up to 12)."""
        return self._shelf_pair[0]

    @property
    def reviews(self) -> list[CommentItem]:
        """The owner's latest reviews."""
        return self._shelf_pair[1]

    @property
    def has_plays(self) -> bool:
        return self.state is not None and self.state.plays

    @property
    def newest(self) -> datetime | None:
        """When the mirror's newest play was watched (read with its state, not its rows)."""
        return self.state.newest if self.state is not None else None

    @property
    def empty(self) -> bool:
        return self.figures is None

    def cache_key(self, *others: object) -> str:
        """What the cached sections depend on: the mirror, the day, whether a walk is under
        way, and `others` (what else is drawn among them)."""
        mirror = None  # the database could not be read: what else is drawn still counts
        if self.state is not None:
            mirror = (
                self.state.version,
                self.state.time_zone,
                self.state.syncing,
                self.state.backfilled,
            )
        parts = (mirror, self.today, settings.HISTORY_SYNC_MINUTES == 0, *others)
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def sections_key(self, trakt_stats: TraktStats | None, *others: object) -> str:
        """What the history's own sections (Activity, When, Taste, the reviews, the years:
        the live fragment "history") depend on: the mirror, the ratings Trakt counts, and
        `others` (what else is drawn among them: the owner's short name)."""
        ratings = trakt_stats.ratings if trakt_stats else None
        return self.cache_key(ratings, self.trouble, *others)

    @property
    def note(self) -> str:
        """What to say about the mirror itself (fetching, not yet, unavailable); "" if all is well."""
        if self.state is None:
            return "The watch history is unavailable right now."
        if self.empty:
            if self.trouble:
                return f"The watch history cannot be fetched yet. {self.trouble}"
            if settings.EXPORT_ONLY:
                return (
                    "No watch history has been imported yet: it appears here once "
                    "`manage.py import_trakt_export` has run."
                )
            if settings.HISTORY_SYNC_MINUTES == 0 and not self.state.syncing:
                return (
                    "The watch history has not been fetched yet: it appears here once "
                    "`manage.py sync_trakt` has run."
                )
            return "The watch history is being fetched from Trakt: it appears here in a moment."
        if self.state.syncing and not self.state.backfilled:
            return "The watch history is still being fetched from Trakt: these figures grow as it arrives."
        return ""


def home(now: datetime, trouble: str = "") -> HomeHistory:
    """The mirror's part of the profile page; `trouble`: why Trakt cannot be asked now."""
    try:
        state = mirror()
    except DatabaseError as error:
        _unread(error)
        return HomeHistory(None, trouble=trouble)
    today = formatting.local_date(now)

    # Read only when the page's cached sections are rendered again.
    def recent() -> list[Recent]:
        try:
            items = cached(state, "recent", queries.recent)
        except DatabaseError as error:
            _unread(error)
            return []
        return [Recent(item, formatting.ago(item.watched_at, now)) for item in items]

    def figures() -> HomeFigures | None:
        try:
            return cached(state, f"home:{today}", lambda: _home_figures(today, state.time_zone))
        except DatabaseError as error:
            _unread(error)
            return None

    def shelves() -> tuple[list[Shelved], list[CommentItem]]:
        try:
            return cached(state, "shelves", lambda: (library.favorites(), library.latest_reviews()))
        except DatabaseError:
            log.warning("history: the database could not be read")
            return [], []

    return HomeHistory(state, recent, figures, today, trouble, shelves)


def _unread(error: DatabaseError) -> None:
    # An outage is logged when it begins and ends (nowwatching/databases/guard.py), not at
    # every request; anything else is.
    if not reported(error):
        log.warning("history: the database could not be read (%s)", type(error).__name__)


def _home_figures(today: date, time_zone: str) -> HomeFigures | None:
    known = queries.days()
    if not known:
        return None
    start, end = queries.heatmap_range(today)
    last_year = queries.activity(start, end, known)
    hours, weekdays = queries.when()
    per_title = queries.title_totals()
    comparison = queries.rating_comparison()
    genres = queries.top_genres(per_title, 8)
    shows = queries.top_titles(per_title, "episode", 8)
    rewatched = queries.top_titles(per_title, "movie", 8, at_least=2)
    return HomeFigures(
        plays=sum(day.plays for day in known),
        minutes=sum(day.minutes for day in known),
        heatmap=charts.heatmap(last_year, end, lambda day: diary_link(day=day.isoformat())),
        legend=charts.heat_legend(last_year),
        streaks=queries.streaks(today, known),
        last_year_plays=sum(day.plays for day in last_year),
        last_year_minutes=sum(day.minutes for day in last_year),
        hours=charts.hours_chart(hours, [diary_link(hour=h) for h in range(24)]),
        weekdays=charts.weekdays_chart(weekdays, [diary_link(weekday=d) for d in range(1, 8)]),
        genres=ranked_genres(genres),
        shows=ranked_titles(shows, "episode"),
        rewatched=ranked_titles(rewatched, "movie"),
        comparison=comparison,
        spread=charts.spread_chart(comparison.spread) if comparison else None,
        years=year_totals(known),
        busiest_hour=_busiest(hours),
        busiest_weekday=_busiest_weekday(weekdays),
        time_zone=time_zone,
    )


def _busiest(buckets: list[Bucket]) -> str:
    best = max(buckets, key=lambda bucket: bucket.plays)
    return best.label if best.plays else ""


def _busiest_weekday(weekdays: list[Bucket]) -> str:
    best = max(range(7), key=lambda day: weekdays[day].plays)
    return calendar.day_name[best] if weekdays[best].plays else ""


def ranked_genres(genres: list[GenreShare], **within: object) -> list[Ranked]:
    """`within`: the diary's filters a genre's link adds to (a year's genres: that year)."""
    top = max((genre.minutes for genre in genres), default=0)
    return [
        Ranked(
            genre.name,
            formatting.watch_time(genre.minutes),
            charts.meter(genre.minutes, top),
            url=diary_link(**within, genre=genre.slug),
        )
        for genre in genres
    ]


def ranked_titles(titles: list[TitleCount], kind: str) -> list[Ranked]:
    top = max((title.plays for title in titles), default=0)
    # A play is one entry of the history, for a show's episodes as for a movie.
    return [
        Ranked(
            entry.title.title,
            formatting.counted(entry.plays, "play"),
            charts.meter(entry.plays, top),
            entry.title,
            formatting.watch_time(entry.minutes),
            url=entry.title.url,
        )
        for entry in titles
    ]


def ratings_distribution(trakt_stats: TraktStats | None) -> charts.Chart | None:
    """The ratings the owner gave, from Trakt's stats (they count seasons too)."""
    if trakt_stats is None or not trakt_stats.ratings.total:
        return None
    return charts.ratings_chart(trakt_stats.ratings.distribution)


# --- The year in review -------------------------------------------------------------------------


@dataclass(frozen=True)
class YearPage:
    review: YearReview
    months: charts.Chart
    genres: list[Ranked]
    shows: list[Ranked]
    movies: list[Ranked]
    years: list[int]  # every year with plays, newest first

    @property
    def hours(self) -> str:
        return formatting.hours(self.review.totals.minutes)

    @property
    def plays_text(self) -> str:
        n = self.review.totals.plays
        return formatting.counted(n, "play")

    @property
    def movie_plays(self) -> str:
        return formatting.grouped(self.review.totals.movie_plays)

    @property
    def episode_plays(self) -> str:
        return formatting.grouped(self.review.totals.episode_plays)

    @property
    def titles(self) -> str:
        return formatting.grouped(self.review.totals.titles)

    @property
    def movie_time(self) -> str:
        return formatting.watch_time(self.review.totals.movie_minutes)

    @property
    def episode_time(self) -> str:
        return formatting.watch_time(self.review.totals.episode_minutes)

    @property
    def binge_time(self) -> str:
        return formatting.watch_time(self.review.binge.minutes) if self.review.binge else ""

    @property
    def binge_across_days(self) -> bool:
        binge = self.review.binge
        return bool(binge) and (
            formatting.local_date(binge.started) != formatting.local_date(binge.ended)
        )

    @property
    def bookends(self) -> list[tuple[str, PlayItem]]:
        return [("First of the year", self.review.first), ("Last of the year", self.review.last)]

    @property
    def previous(self) -> int | None:
        older = [y for y in self.years if y < self.review.year]
        return max(older, default=None)

    @property
    def next(self) -> int | None:
        newer = [y for y in self.years if y > self.review.year]
        return min(newer, default=None)


def year(number: int) -> YearPage | None:
    """The year in review; None for a year without plays."""
    state = mirror()
    return cached(state, f"year:{number}", lambda: _year_page(number))


def _year_page(number: int) -> YearPage | None:
    review = year_review(number)
    if review is None:
        return None
    months = [diary_link(month=f"{number}-{m.month:02d}") for m in review.months]
    return YearPage(
        review=review,
        months=charts.months_chart(review.months, months),
        genres=ranked_genres(review.genres, year=number),
        shows=ranked_titles(review.shows, "episode"),
        movies=ranked_titles(review.movies, "movie"),
        years=year_list(),
    )


def years() -> list[int]:
    return cached(mirror(), "years", year_list)
