"""The years of the mirror: every year's totals, and one year in review (months, tops, the
longest binge, the first and last play), computed in the database."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from profile import formatting
from profile.mirror.queries import (
    DayKind,
    GenreShare,
    TitleCount,
    days,
    plays_with_titles,
    title_totals,
    top_genres,
    top_titles,
)
from profile.mirror.titles import PlayItem, TitleInfo
from profile.models import Play, Title

FIRST_YEAR, LAST_YEAR = 1900, 2200


@dataclass(frozen=True)
class YearTotal:
    year: int
    plays: int
    minutes: int

    @property
    def plays_text(self) -> str:
        return formatting.counted(self.plays, "play")

    @property
    def hours_text(self) -> str:
        return formatting.hours(self.minutes)


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def year_totals(known: list[DayKind] | None = None) -> list[YearTotal]:
    """Every year with plays, newest first, with its plays and minutes."""
    figures: dict[int, list[int]] = {}
    for day in days() if known is None else known:
        year = figures.setdefault(day.date.year, [0, 0])
        year[0] += day.plays
        year[1] += day.minutes
    return [YearTotal(year, *figures[year]) for year in sorted(figures, reverse=True)]


def year_list() -> list[int]:
    """The years with plays, newest first (a few indexed lookups, no scan)."""
    # Two aggregates: a lone MIN or MAX is one index lookup, both together a scan.
    first = Play.objects.aggregate(first=Min("local_date"))["first"]
    if first is None:
        return []
    last = Play.objects.aggregate(last=Max("local_date"))["last"]
    return [
        year
        for year in range(last.year, first.year - 1, -1)
        if Play.objects.filter(local_date__range=year_bounds(year)).exists()
    ]


@dataclass(frozen=True)
class Totals:
    plays: int
    minutes: int
    movie_plays: int
    movie_minutes: int
    episode_plays: int
    episode_minutes: int
    days: int
    titles: int

    @classmethod
    def of(cls, known: list[DayKind], titles: int) -> Totals:
        movie_plays = sum(d.movie_plays for d in known)
        movie_minutes = sum(d.movie_minutes for d in known)
        episode_plays = sum(d.episode_plays for d in known)
        episode_minutes = sum(d.episode_minutes for d in known)
        return cls(
            movie_plays + episode_plays,
            movie_minutes + episode_minutes,
            movie_plays,
            movie_minutes,
            episode_plays,
            episode_minutes,
            len(known),
            titles,
        )


@dataclass(frozen=True)
class Binge:
    """The most episodes of one show played in a row with gaps under an hour."""

    title: TitleInfo
    episodes: int
    minutes: int
    started: datetime  # the first play's start (watched_at less its runtime)
    ended: datetime


def longest_binge(
    start: date | None, end: date | None, title_id: int | None = None
) -> Binge | None:
    """The run (upkeep.refresh_runs) with the most episodes in the range (all time without
    one; of one show with `title_id`), then the most minutes: a GROUP BY over the day index.
    Gaps are from one play's end (watched_at) to the next one's start (its watched_at less
    its runtime)."""
    # Only episodes have a run_start, so no condition on kind: with one, SQLite (without
    # ANALYZE's statistics) walks every episode by the kind index, three times slower.
    plays = Play.objects.filter(run_start__isnull=False)
    if start is not None and end is not None:
        plays = plays.filter(local_date__range=(start, end))
    if title_id is not None:
        plays = plays.filter(title=title_id)
    row = (
        plays.values("title", "run_start")
        .annotate(
            episodes=Count("*"),
            minutes=Sum("runtime"),
            ended=Max("epoch_minute"),
        )
        .filter(episodes__gt=1)
        .order_by("-episodes", "-minutes", "run_start")
        .first()
    )
    if row is None:
        return None
    first = (
        plays.filter(title=row["title"], run_start=row["run_start"])
        .order_by("epoch_minute")
        .values_list("epoch_minute", "runtime")
        .first()
    )
    return Binge(
        TitleInfo.of(Title.objects.get(pk=row["title"])),
        row["episodes"],
        row["minutes"] or 0,
        _from_epoch_minute(first[0] - first[1]),
        _from_epoch_minute(row["ended"]),
    )


def _from_epoch_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=timezone.get_current_timezone())


@dataclass(frozen=True)
class Month:
    month: int
    name: str
    plays: int
    minutes: int
    movie_minutes: int
    episode_minutes: int


def months(year: int, known: list[DayKind]) -> list[Month]:
    figures = {month: [0, 0, 0] for month in range(1, 13)}
    for day in known:
        if day.date.year == year:
            month = figures[day.date.month]
            month[0] += day.plays
            month[1] += day.movie_minutes
            month[2] += day.episode_minutes
    return [
        Month(month, calendar.month_abbr[month], p, mm + em, mm, em)
        for month, (p, mm, em) in figures.items()
    ]


@dataclass(frozen=True)
class YearReview:
    year: int
    totals: Totals
    months: list[Month]
    genres: list[GenreShare]
    shows: list[TitleCount]
    movies: list[TitleCount]
    binge: Binge | None
    first: PlayItem
    last: PlayItem


def year_review(year: int) -> YearReview | None:
    """The year in review's figures; None for a year without plays."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    start, end = year_bounds(year)
    known = days(start, end)
    if not known:
        return None
    plays = Play.objects.filter(local_date__range=(start, end))
    # local_date follows watched_at, and leads the day index: the first rows are at hand.
    ordered = plays_with_titles().filter(local_date__range=(start, end))
    ordered = ordered.order_by("local_date", "watched_at", "history_id")
    per_title = title_totals(plays)
    return YearReview(
        year=year,
        totals=Totals.of(known, len(per_title)),
        months=months(year, known),
        genres=top_genres(per_title, 8),
        shows=top_titles(per_title, Play.EPISODE, 6),
        movies=top_titles(per_title, Play.MOVIE, 6),
        binge=longest_binge(start, end),
        first=PlayItem.of(ordered.first()),
        last=PlayItem.of(ordered.reverse().first()),
    )
