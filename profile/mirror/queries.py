"""Aggregates of the history mirror, computed in the database.

Every figure is a GROUP BY (or conditional aggregates) over the plays' stored local buckets
(`local_date`, `local_hour`, `local_weekday`: see profile/models.py), so SQLite and PostgreSQL
give the same answers. Python only loops over what the database already reduced (days with
plays, ranked rows). The year in review's figures are in `review.py`; callers cache them by
the mirror's version (`state.cached()`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.functions import Abs, Cast

from profile.client import HistoryItem, trakt
from profile.formatting import episode_code
from profile.mirror.titles import PlayItem, TitleInfo
from profile.models import Play, Rating, Title, genre_name

HEATMAP_WEEKS = 53
RECENT = 12
# A community rating resting on fewer votes says little: such titles are left out of the
# comparison with the owner's ratings.
MIN_VOTES = 10


def plays_with_titles():
    return Play.objects.select_related("title", "episode")


def play_counts(by: str, **within) -> dict[int, int]:
    """How many plays each title (`by="title"`) or episode (`by="episode"`) has, among the
    plays `within` keeps (`title__in=ids`): one GROUP BY."""
    rows = Play.objects.filter(**within).values(by).annotate(n=Count("*")).order_by()
    return dict(rows.values_list(by, "n"))


# --- Recently watched -----------------------------------------------------------------------------


def recent(limit: int = RECENT) -> list[PlayItem]:
    """The last `limit` titles watched, each once, with its latest play (a show's latest
    episode). Looks at the latest few hundred plays only."""
    seen: set[int] = set()
    items = []
    for play in plays_with_titles().order_by("-watched_at", "-history_id")[: limit * 25]:
        if play.title_id in seen:
            continue
        seen.add(play.title_id)
        items.append(PlayItem.of(play))
        if len(items) == limit:
            break
    return items


def newest_play() -> HistoryItem | None:
    """The mirror's newest play as Trakt's history entry reads: where Trakt cannot be asked
    for its last watched entry (no API app), the mirror can say."""
    play = plays_with_titles().order_by("-watched_at", "-history_id").first()
    if play is None:
        return None
    title = {"title": play.title.title or None, "year": play.title.year,
             "ids": {"trakt": play.title.trakt_id}}  # fmt: skip
    body: dict = {"type": play.kind, "watched_at": trakt.iso(play.watched_at)}
    if play.episode_id is None:
        body["movie"] = title
    else:
        episode = play.episode
        body["show"] = title
        body["episode"] = {"season": episode.season, "number": episode.number,
                           "title": episode.title or None, "ids": {"trakt": episode.trakt_id}}  # fmt: skip
    return HistoryItem.model_validate(body)


# --- Days -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    date: date
    plays: int
    minutes: int


@dataclass(frozen=True)
class DayKind:
    """One day's plays and minutes, movies and episodes apart."""

    date: date
    movie_plays: int
    movie_minutes: int
    episode_plays: int
    episode_minutes: int

    @property
    def plays(self) -> int:
        return self.movie_plays + self.episode_plays

    @property
    def minutes(self) -> int:
        return self.movie_minutes + self.episode_minutes


def days(start: date | None = None, end: date | None = None) -> list[DayKind]:
    """The days with plays (between `start` and `end`), oldest first: one GROUP BY over a
    covering index; every figure by day, week, month or year is folded from these."""
    plays = Play.objects.all()
    if start is not None:
        plays = plays.filter(local_date__gte=start)
    if end is not None:
        plays = plays.filter(local_date__lte=end)
    rows = (
        plays.values("local_date", "kind")
        .annotate(plays=Count("*"), minutes=Sum("runtime"))
        .order_by("local_date")
    )
    found: dict[date, list[int]] = {}
    for row in rows:
        figures = found.setdefault(row["local_date"], [0, 0, 0, 0])
        at = 0 if row["kind"] == Play.MOVIE else 2
        figures[at], figures[at + 1] = row["plays"], row["minutes"] or 0
    return [DayKind(day, *figures) for day, figures in found.items()]


def activity(start: date, end: date, known: list[DayKind] | None = None) -> list[Day]:
    """Every day from `start` to `end` (local days), zeros included."""
    if known is None:
        rows = (
            Play.objects.filter(local_date__range=(start, end))
            .values("local_date")
            .annotate(plays=Count("*"), minutes=Sum("runtime"))
            .order_by()
        )
        found = {row["local_date"]: (row["plays"], row["minutes"] or 0) for row in rows}
    else:
        found = {d.date: (d.plays, d.minutes) for d in known if start <= d.date <= end}
    result = []
    day = start
    while day <= end:
        plays, minutes = found.get(day, (0, 0))
        result.append(Day(day, plays, minutes))
        day += timedelta(days=1)
    return result


def heatmap_range(end: date) -> tuple[date, date]:
    """The 53 weeks (Monday to Sunday) that end with `end`'s week, cut at `end`."""
    start = end - timedelta(days=end.weekday()) - timedelta(weeks=HEATMAP_WEEKS - 1)
    return start, end


@dataclass(frozen=True)
class Streaks:
    current: int  # days in a row with a play, up to today (or yesterday: today is not over)
    longest: int
    longest_end: date | None
    active_days: int


def streaks(on: date, known: list[DayKind] | None = None) -> Streaks:
    active = [d.date for d in (days() if known is None else known)]
    longest = run = 0
    longest_end = previous = None
    for day in active:
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        if run > longest:
            longest, longest_end = run, day
        previous = day
    current = 0
    recent_days = set(active[-400:])
    day = on if on in recent_days else on - timedelta(days=1)
    while day in recent_days:
        current += 1
        day -= timedelta(days=1)
    return Streaks(current, longest, longest_end, len(active))


# --- When -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    label: str
    plays: int
    minutes: int


WEEKDAYS = [calendar.day_abbr[i] for i in range(7)]


def when(plays=None) -> tuple[list[Bucket], list[Bucket]]:
    """Plays by hour of day and by weekday, in the owner's time: one GROUP BY of 168 cells."""
    plays = Play.objects.all() if plays is None else plays
    rows = (
        plays.values("local_weekday", "local_hour")
        .annotate(plays=Count("*"), minutes=Sum("runtime"))
        .order_by()
    )
    hours = [[0, 0] for _ in range(24)]
    weekdays = [[0, 0] for _ in range(7)]
    for row in rows:
        for bucket in (hours[row["local_hour"]], weekdays[row["local_weekday"]]):
            bucket[0] += row["plays"]
            bucket[1] += row["minutes"] or 0
    return (
        [Bucket(f"{hour:02d}", *hours[hour]) for hour in range(24)],
        [Bucket(WEEKDAYS[day], *weekdays[day]) for day in range(7)],
    )


# --- Taste ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TitleTotal:
    title_id: int
    kind: str
    plays: int
    minutes: int
    last: int  # the last play's epoch_minute


def title_totals(plays=None) -> list[TitleTotal]:
    """Plays and minutes per title: one GROUP BY; tops and genres are folded from it."""
    plays = Play.objects.all() if plays is None else plays
    rows = (
        # A title's plays are all of its kind: MAX gives it without a second GROUP BY column
        # (which costs a third of the query on SQLite).
        plays.values("title")
        .annotate(
            of_kind=Max("kind"), count=Count("*"), minutes=Sum("runtime"), last=Max("epoch_minute")
        )
        .order_by()
    )
    return [
        TitleTotal(r["title"], r["of_kind"], r["count"], r["minutes"] or 0, r["last"]) for r in rows
    ]


@dataclass(frozen=True)
class GenreShare:
    slug: str
    name: str
    minutes: int
    plays: int


def top_genres(totals: list[TitleTotal], limit: int = 8) -> list[GenreShare]:
    """Genres by time watched (a title of two genres counts for both)."""
    by_title = {t.title_id: t for t in totals}
    through = Title.genres.through
    shares: dict[str, list[int]] = {}
    pairs = through.objects.filter(title_id__in=by_title).values_list("title_id", "genre__slug")
    for title_id, slug in pairs:
        share = shares.setdefault(slug, [0, 0])
        share[0] += by_title[title_id].minutes
        share[1] += by_title[title_id].plays
    ranked = sorted(shares.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [GenreShare(slug, genre_name(slug), minutes, plays) for slug, (minutes, plays) in ranked]


@dataclass(frozen=True)
class TitleCount:
    title: TitleInfo
    plays: int
    minutes: int


def top_titles(
    totals: list[TitleTotal], kind: str, limit: int = 8, at_least: int = 1
) -> list[TitleCount]:
    """Shows by episodes played, or movies by plays (`at_least=2`: the rewatched)."""
    ranked = sorted(
        (t for t in totals if t.kind == kind and t.plays >= at_least),
        key=lambda t: (-t.plays, -t.minutes, -t.last),
    )[:limit]
    titles = Title.objects.in_bulk([t.title_id for t in ranked])
    return [TitleCount(TitleInfo.of(titles[t.title_id]), t.plays, t.minutes) for t in ranked]


@dataclass(frozen=True)
class Disagreement:
    title: TitleInfo
    episode: str | None  # "S1E2" for an episode rating
    yours: int
    community: float


@dataclass(frozen=True)
class RatingComparison:
    count: int
    mean: float  # the owner's rating less the community's, on average
    spread: list[tuple[int, int]]  # (difference rounded to a whole point, how many), -9..9
    higher: int  # rated above the community by a point or more
    lower: int
    disagreements: list[Disagreement] = field(default_factory=list)


def rating_comparison(limit: int = 5) -> RatingComparison | None:
    """The owner's ratings against Trakt's community rating of the same title or episode."""
    community = Cast(F("title__community_rating"), FloatField())
    episode_community = Cast(F("episode__community_rating"), FloatField())
    titles = Rating.objects.filter(
        kind__in=("movie", "show"),
        title__community_rating__isnull=False,
        title__community_votes__gte=MIN_VOTES,
    ).annotate(community=community)
    episodes = Rating.objects.filter(
        kind="episode",
        episode__community_rating__isnull=False,
        episode__community_votes__gte=MIN_VOTES,
    ).annotate(community=episode_community)
    parts = [qs.annotate(diff=F("rating") - F("community")) for qs in (titles, episodes)]
    bins = {}
    for k in range(-9, 10):
        bins[f"b{k + 9}"] = Count("pk", filter=Q(diff__gte=k - 0.5, diff__lt=k + 0.5))
    sums = [
        qs.aggregate(
            n=Count("pk"),
            total=Sum("diff"),
            higher=Count("pk", filter=Q(diff__gte=1)),
            lower=Count("pk", filter=Q(diff__lte=-1)),
            **bins,
        )
        for qs in parts
    ]
    count = sum(s["n"] for s in sums)
    if not count:
        return None
    spread = [(k, sum(s[f"b{k + 9}"] for s in sums)) for k in range(-9, 10)]
    worst = []
    for qs in parts:
        worst += list(
            qs.select_related("title", "episode")
            .annotate(gap=Abs("diff"))
            .order_by("-gap", "-rated_at")[:limit]
        )
    worst.sort(key=lambda r: (-abs(r.diff), -r.rated_at.timestamp()))
    return RatingComparison(
        count=count,
        mean=sum(s["total"] or 0 for s in sums) / count,
        spread=spread,
        higher=sum(s["higher"] for s in sums),
        lower=sum(s["lower"] for s in sums),
        disagreements=[
            Disagreement(
                TitleInfo.of(r.title),
                episode_code(r.episode.season, r.episode.number) if r.episode_id else None,
                r.rating,
                r.community,
            )
            for r in worst[:limit]
        ],
    )
