"""Aggregates of the history mirror, computed in the database.

Every figure is a GROUP BY (or conditional aggregates) over the plays' stored local buckets
(`local_date`, `local_hour`, `local_weekday`: see profile/models.py), so SQLite and PostgreSQL
give the same answers; the longest binge is one portable window-function query. Python only
loops over what the database already reduced (days with plays, years, ranked rows).

Results are cached briefly, keyed by the mirror's version (bumped by every change the sync
makes) and its time zone, so a warm page costs one small query and a cache read.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.db.models import Count, F, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Abs, Cast
from django.utils import timezone

from profile import formatting
from profile.client import image_url
from profile.models import Play, Rating, SyncState, Title, genre_name
from profile.watching import UNTITLED, episode_code, episode_subtitle

T = TypeVar("T")

CACHE_SECONDS = 10 * 60
KEY = "nowwatching:v1:mirror:"
HEATMAP_WEEKS = 53
RECENT = 12
# A community rating resting on fewer votes says little: such titles are left out of the
# comparison with the owner's ratings.
MIN_VOTES = 10
FIRST_YEAR, LAST_YEAR = 1900, 2200


# --- Version and cache --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mirror:
    """What the mirror is at: its version (bumped by every change), the zone of its buckets,
    and whether a sync has ever finished a walk over the whole history."""

    version: int
    time_zone: str
    backfilled: bool
    syncing: bool  # a walk is under way
    last_success_at: datetime | None
    newest: datetime | None = None  # when its newest play was watched (None: it holds none)

    @property
    def plays(self) -> bool:
        """Whether it holds any play."""
        return self.newest is not None


MIRROR_SECONDS = 2  # how long a process reuses what it read of SyncState


def mirror() -> Mirror:
    """The mirror's state, read at most every MIRROR_SECONDS by each process."""
    local = caches["local"]
    state = local.get(KEY + "state")
    if state is None:
        state = _read_mirror()
        local.set(KEY + "state", state, MIRROR_SECONDS)
    return state


def forget_mirror() -> None:
    """After this process changed the mirror: read its state afresh next time."""
    caches["local"].delete(KEY + "state")


def _read_mirror() -> Mirror:
    row = (
        SyncState.objects.filter(pk=1)
        .values("version", "time_zone", "backfilled_at", "walk_next_page", "last_success_at")
        .first()
    )
    if row is None:
        return Mirror(0, settings.TIME_ZONE, False, False, None)
    return Mirror(
        row["version"],
        row["time_zone"] or settings.TIME_ZONE,
        row["backfilled_at"] is not None,
        row["walk_next_page"] is not None,
        row["last_success_at"],
        Play.objects.aggregate(newest=Max("watched_at"))["newest"],  # the index's last entry
    )


def cached(state: Mirror, name: str, compute: Callable[[], T]) -> T:
    """`compute()`, reused while the mirror has not changed (and for CACHE_SECONDS at most)."""
    key = f"{KEY}{state.version}:{state.time_zone}:{name}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


# --- Titles as shown ----------------------------------------------------------------------------

POSTER_SIZES = ("w154", "w342")


@dataclass(frozen=True)
class TitleInfo:
    """A movie or show as the page and the API show it."""

    id: int
    kind: str  # "movie" or "show"
    trakt_id: int
    slug: str
    title: str
    year: int | None
    tmdb_id: int | None
    imdb_id: str
    poster_path: str

    @classmethod
    def of(cls, title: Title) -> TitleInfo:
        return cls(
            title.pk,
            title.kind,
            title.trakt_id,
            title.slug,
            title.title or UNTITLED,
            title.year,
            title.tmdb_id,
            title.imdb_id,
            title.poster_path,
        )

    @property
    def poster(self) -> str | None:
        return image_url("w342", self.poster_path) if self.poster_path else None

    @property
    def poster_srcset(self) -> str:
        if not self.poster_path:
            return ""
        return ", ".join(
            f"{image_url(size, self.poster_path)} {size[1:]}w" for size in POSTER_SIZES
        )

    @property
    def hue(self) -> int:
        """One of 8 colours for a poster stand-in, the same for a title every time."""
        return self.trakt_id % 8

    @property
    def initials(self) -> str:
        words = [w for w in self.title.split() if w[:1].isalnum()]
        return "".join(w[0] for w in words[:2]).upper() or "?"

    def links(self, episode: EpisodeInfo | None = None) -> dict[str, str | None]:
        slug = self.slug or str(self.trakt_id)
        if self.kind == Title.MOVIE:
            trakt = f"https://trakt.tv/movies/{slug}"
            tmdb = f"https://www.themoviedb.org/movie/{self.tmdb_id}" if self.tmdb_id else None
            imdb = self.imdb_id
        else:
            trakt = f"https://trakt.tv/shows/{slug}"
            tmdb = f"https://www.themoviedb.org/tv/{self.tmdb_id}" if self.tmdb_id else None
            imdb = self.imdb_id
            if episode is not None:
                place = f"/seasons/{episode.season}/episodes/{episode.number}"
                trakt += place
                if tmdb:
                    tmdb += f"/season/{episode.season}/episode/{episode.number}"
                imdb = episode.imdb_id  # the episode's own page, or none
        return {
            "trakt": trakt,
            "imdb": f"https://www.imdb.com/title/{imdb}/" if imdb else None,
            "tmdb": tmdb,
        }

    def ids_json(self) -> dict[str, Any]:
        return {"trakt": self.trakt_id, "tmdb": self.tmdb_id, "imdb": self.imdb_id or None}


@dataclass(frozen=True)
class EpisodeInfo:
    season: int
    number: int
    title: str
    trakt_id: int
    tmdb_id: int | None
    imdb_id: str
    tvdb_id: int | None

    @property
    def code(self) -> str:
        return episode_code(self.season, self.number)

    @property
    def subtitle(self) -> str:
        return episode_subtitle(self.season, self.number, self.title or None)


@dataclass(frozen=True)
class PlayItem:
    """One play, as the page and /api/history show it."""

    history_id: int
    watched_at: datetime
    action: str
    kind: str  # "movie" or "episode"
    runtime: int
    title: TitleInfo
    episode: EpisodeInfo | None

    @classmethod
    def of(cls, play: Play) -> PlayItem:
        episode = None
        if play.episode_id is not None:
            e = play.episode
            episode = EpisodeInfo(
                e.season, e.number, e.title, e.trakt_id, e.tmdb_id, e.imdb_id, e.tvdb_id
            )
        return cls(
            play.history_id,
            play.watched_at,
            play.action,
            play.kind,
            play.runtime,
            TitleInfo.of(play.title),
            episode,
        )

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.history_id,
            "watched_at": iso(self.watched_at),
            "action": self.action,
            "type": self.kind,
            "title": self.title.title,
        }
        if self.episode is not None:
            body["subtitle"] = self.episode.subtitle
        body |= {
            "year": self.title.year,
            "runtime": self.runtime,
            "ids": self.title.ids_json(),
            "links": self.title.links(self.episode),
            "poster": self.title.poster,
        }
        if self.episode is not None:
            e = self.episode
            body["episode"] = {
                "season": e.season,
                "number": e.number,
                "title": e.title or None,
                "ids": {
                    "trakt": e.trakt_id,
                    "tvdb": e.tvdb_id,
                    "imdb": e.imdb_id or None,
                    "tmdb": e.tmdb_id,
                },
            }
        return body


def iso(moment: datetime) -> str:
    """Trakt's way of writing a moment: UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _plays():
    return Play.objects.select_related("title", "episode")


# --- The history list ---------------------------------------------------------------------------


def history(page: int, limit: int, kind: str | None) -> tuple[list[PlayItem], int]:
    """A page of plays, newest first, and how many plays match."""
    plays = Play.objects.all()
    if kind:
        plays = plays.filter(kind=kind)
    total = plays.count()
    offset = (page - 1) * limit
    if offset >= total:
        return [], total
    rows = _plays().filter(kind=kind) if kind else _plays()
    chosen = rows.order_by("-watched_at", "-history_id")[offset : offset + limit]
    return [PlayItem.of(play) for play in chosen], total


def recent(limit: int = RECENT) -> list[PlayItem]:
    """The last `limit` titles watched, each once, with its latest play (a show's latest
    episode). Looks at the latest few hundred plays only."""
    seen: set[int] = set()
    items = []
    for play in _plays().order_by("-watched_at", "-history_id")[: limit * 25]:
        if play.title_id in seen:
            continue
        seen.add(play.title_id)
        items.append(PlayItem.of(play))
        if len(items) == limit:
            break
    return items


# --- Days ---------------------------------------------------------------------------------------


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


# --- When ---------------------------------------------------------------------------------------


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


# --- Taste --------------------------------------------------------------------------------------


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


# --- Years --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearTotal:
    year: int
    plays: int
    minutes: int

    @property
    def plays_text(self) -> str:
        return f"{formatting.grouped(self.plays)} play{'' if self.plays == 1 else 's'}"

    @property
    def hours_text(self) -> str:
        return formatting.hours(self.minutes)


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def years(known: list[DayKind] | None = None) -> list[YearTotal]:
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


def longest_binge(start: date, end: date) -> Binge | None:
    """The run (sync.refresh_runs) with the most episodes in the range, then the most
    minutes: a GROUP BY over the day index. Gaps are from one play's end (watched_at) to the
    next one's start (its watched_at less its runtime)."""
    # Only episodes have a run_start, so no condition on kind: with one, SQLite (without
    # ANALYZE's statistics) walks every episode by the kind index, three times slower.
    row = (
        Play.objects.filter(local_date__range=(start, end), run_start__isnull=False)
        .values("title", "run_start")
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
        Play.objects.filter(
            title=row["title"], run_start=row["run_start"], local_date__range=(start, end)
        )
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
    ordered = _plays().filter(local_date__range=(start, end))
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
