"""The diary: every play, newest first, with filters that combine, a page at a time by keyset.

Plays are ordered by (watched_at, history_id), newest first; a page ends at a `Key` (that
pair), and the next one starts after it: `WHERE (watched_at, history_id) < key`, one seek in
the `play_diary` index, so page 1,000 of a 50,000-play history costs what page 1 does, and a
sync that inserts plays meanwhile moves no play from one page to another. A page asked for
by number (`/api/history?page=`) skips its offset in that index alone (the filters' columns
are in it too), never reading the table, then reads its rows as a keyset page does.

Filters: the type, the owner's year, month, day, hour of day and weekday (the stored local
buckets), a genre, one show or movie, and the owner's rating of the movie or show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from profile.mirror.titles import SLUG, PlayItem, TitleInfo
from profile.models import Play, Rating, Title

PAGE = 30  # plays on a page of /history


@dataclass(frozen=True)
class Key:
    """Where a page ends: a play's watched_at and history id. Written in URLs as a cursor,
    "<microseconds since 1970>_<history id>"."""

    watched_at: datetime
    history_id: int

    EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
    PATTERN = re.compile(r"(-?[0-9]{1,17})_([0-9]{1,17})")

    @classmethod
    def of(cls, play: Play) -> Key:
        return cls(play.watched_at, play.history_id)

    @property
    def cursor(self) -> str:
        micro = (self.watched_at - self.EPOCH) // timedelta(microseconds=1)
        return f"{micro}_{self.history_id}"

    @classmethod
    def parse(cls, cursor: str) -> Key:
        """The key a cursor names; ValueError for anything that is not one."""
        match = cls.PATTERN.fullmatch(cursor)
        if not match:
            raise ValueError(cursor)
        try:
            moment = cls.EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            raise ValueError(cursor) from None
        return cls(moment, int(match[2]))

    # Each says its bound on watched_at twice: once alone, so that the database seeks the
    # index to it (an OR alone is read from the index's end, row by row: page 1,000 cost
    # three times page 1), once in the exact condition.
    def older(self) -> Q:
        return Q(watched_at__lte=self.watched_at) & (
            Q(watched_at__lt=self.watched_at)
            | Q(watched_at=self.watched_at, history_id__lt=self.history_id)
        )

    def newer(self) -> Q:
        return Q(watched_at__gte=self.watched_at) & (
            Q(watched_at__gt=self.watched_at)
            | Q(watched_at=self.watched_at, history_id__gt=self.history_id)
        )


@dataclass(frozen=True)
class Filters:
    """The diary's filters; each None is not applied. The query string's names are the
    fields' own (`profile/api/params.diary_filters()` reads them)."""

    type: str | None = None  # "movie" or "episode"
    year: int | None = None
    month: date | None = None  # its first day
    day: date | None = None
    hour: int | None = None  # 0-23, the owner's
    weekday: int | None = None  # 1 (Monday) to 7 (Sunday)
    genre: str | None = None  # Trakt's slug
    show: str | None = None  # the show's page slug
    movie: str | None = None  # the movie's page slug
    rating: int | None = None  # 1-10: the owner's rating of the movie or show

    @property
    def active(self) -> dict[str, object]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def without(self, name: str) -> Filters:
        return replace(self, **{name: None})

    def params(self) -> dict[str, str]:
        """The filters as the query string writes them (dates as 2025-03-04, a month as
        2025-03)."""
        written = {}
        for name, value in self.active.items():
            if name == "month":
                value = f"{value:%Y-%m}"
            elif isinstance(value, date):
                value = value.isoformat()
            written[name] = str(value)
        return written

    def plays(self) -> QuerySet[Play]:
        """The plays these filters keep (any order)."""
        plays = Play.objects.all()
        if self.type:
            plays = plays.filter(kind=self.type)
        if self.year is not None:
            plays = plays.filter(local_date__range=(date(self.year, 1, 1), date(self.year, 12, 31)))
        if self.month is not None:
            end = (self.month + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            plays = plays.filter(local_date__range=(self.month, end))
        if self.day is not None:
            plays = plays.filter(local_date=self.day)
        if self.hour is not None:
            plays = plays.filter(local_hour=self.hour)
        if self.weekday is not None:
            plays = plays.filter(local_weekday=self.weekday - 1)
        if self.genre:
            through = Title.genres.through.objects.filter(genre__slug=self.genre)
            plays = plays.filter(title__in=through.values("title_id"))
        for kind, slug in ((Title.SHOW, self.show), (Title.MOVIE, self.movie)):
            if slug:
                plays = plays.filter(title__in=titles_by_slug(kind, slug).values("pk")[:1])
        if self.rating is not None:
            rated = Rating.objects.filter(kind__in=("movie", "show"), rating=self.rating)
            plays = plays.filter(title__in=rated.values("title_id"))
        return plays


def titles_by_slug(kind: str, slug: str) -> QuerySet[Title]:
    """The titles a page's slug names: by Trakt's slug, or by its Trakt id for one without
    (the played ones first, should Trakt ever give two the same slug)."""
    if not SLUG.fullmatch(slug):
        return Title.objects.none()
    found = Q(slug=slug)
    if slug.isdigit() and len(slug) < 18:
        found |= Q(slug="", trakt_id=int(slug))
    return (
        Title.objects.filter(found, kind=kind)
        .annotate(played=Exists(Play.objects.filter(title=OuterRef("pk"))))
        .order_by("-played", "pk")
    )


@dataclass(frozen=True)
class Entry:
    """One play of the diary."""

    item: PlayItem
    local_date: date
    local_time: datetime  # watched_at in the owner's zone
    rating: int | None  # the owner's rating of the movie or show
    episode_rating: int | None
    rewatch: bool  # the movie or the episode was played before

    @property
    def key(self) -> Key:
        return Key(self.item.watched_at, self.item.history_id)


@dataclass(frozen=True)
class DiaryPage:
    entries: list[Entry]
    total: int  # plays the filters keep
    position: int | None  # how many of them come before this page (None: not counted)
    older: Key | None  # where the next page starts (None: this is the last)
    newer: Key | None  # where the previous one ends (None: this is the first)

    @property
    def days(self) -> list[tuple[date, list[Entry]]]:
        grouped: list[tuple[date, list[Entry]]] = []
        for entry in self.entries:
            if not grouped or grouped[-1][0] != entry.local_date:
                grouped.append((entry.local_date, []))
            grouped[-1][1].append(entry)
        return grouped


NEWEST_FIRST = ("-watched_at", "-history_id")
OLDEST_FIRST = ("watched_at", "history_id")


def diary_page(
    filters: Filters,
    *,
    after: Key | None = None,
    before: Key | None = None,
    page: int | None = None,
    limit: int = PAGE,
    count_position: bool = False,
) -> DiaryPage:
    """A page of the plays `filters` keep, newest first: the first, the one after (older
    than) `after`, the one before (newer than) `before`, or page number `page`."""
    plays = filters.plays()
    keys = plays.values_list("watched_at", "history_id")
    position = None
    if before is not None:
        found = list(keys.filter(before.newer()).order_by(*OLDEST_FIRST)[: limit + 1])
        more_newer = len(found) > limit
        found = found[:limit][::-1]
        more_older = bool(found) and keys.filter(Key(*found[-1]).older()).exists()
    else:
        if after is not None:
            keys = keys.filter(after.older())
        offset = (page - 1) * limit if page else 0
        found = list(keys.order_by(*NEWEST_FIRST)[offset : offset + limit + 1])
        more_older = len(found) > limit
        found = found[:limit]
        if page:
            more_newer, position = offset > 0, offset
        else:
            more_newer = after is not None and plays.filter(after.newer()).exists()
    if count_position and position is None and found:
        position = plays.filter(Key(*found[0]).newer()).count()
    found_entries = entries([history_id for _, history_id in found])
    return DiaryPage(
        entries=found_entries,
        total=plays.count(),
        position=position if found else None,
        older=found_entries[-1].key if found_entries and more_older else None,
        newer=found_entries[0].key if found_entries and more_newer else None,
    )


# The owner's ratings and whether each play is a rewatch, for a page's plays: one statement
# written out, because Django compiles these three subqueries in about 3 ms a page, ten times
# what the database takes to run them (measured on /history with 50,000 plays). A rewatch: an
# earlier play of the movie, or of the episode (a show may have thousands of plays to look
# through, an episode a handful).
EXTRAS_SQL = """
SELECT p.history_id,
  (SELECT r.rating FROM {rating} r
    WHERE r.title_id = p.title_id AND r.kind IN ('movie', 'show') LIMIT 1),
  (SELECT r.rating FROM {rating} r
    WHERE r.episode_id = p.episode_id AND r.kind = 'episode' LIMIT 1),
  CASE WHEN p.kind = 'movie'
    THEN EXISTS (SELECT 1 FROM {play} e WHERE e.title_id = p.title_id AND {earlier})
    ELSE EXISTS (SELECT 1 FROM {play} e WHERE e.episode_id = p.episode_id AND {earlier})
  END
FROM {play} p
WHERE p.history_id IN ({ids})
"""
EARLIER = (
    "(e.watched_at < p.watched_at OR (e.watched_at = p.watched_at AND e.history_id < p.history_id))"
)


def entries(history_ids: list[int]) -> list[Entry]:
    """The diary's entries of these plays, in this order: their titles, episodes, the
    owner's ratings and whether each is a rewatch."""
    if not history_ids:
        return []
    rows = Play.objects.filter(history_id__in=history_ids).select_related("title", "episode")
    by_id = {row.history_id: row for row in rows}
    sql = EXTRAS_SQL.format(
        rating=Rating._meta.db_table,
        play=Play._meta.db_table,
        earlier=EARLIER,
        ids=", ".join(["%s"] * len(history_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, history_ids)
        extras = {history_id: rest for history_id, *rest in cursor.fetchall()}
    found = []
    for history_id in history_ids:
        row = by_id.get(history_id)
        if row is None:
            continue  # removed by the sync between these reads: left out, not a failed page
        title_rating, episode_rating, rewatch = extras.get(history_id, (None, None, False))
        local_time = timezone.localtime(row.watched_at)
        found.append(
            Entry(
                PlayItem.of(row),
                row.local_date,
                local_time,
                title_rating,
                episode_rating,
                bool(rewatch),
            )
        )
    return found


def subject(filters: Filters) -> TitleInfo | None:
    """The show or movie the diary is filtered to, if one is and the mirror knows it."""
    for kind, slug in ((Title.SHOW, filters.show), (Title.MOVIE, filters.movie)):
        if slug and (title := titles_by_slug(kind, slug).first()):
            return TitleInfo.of(title)
    return None


def years() -> list[int]:
    """The years from the first play to the last, newest first (the diary's choice of year:
    two index lookups, not one per year)."""
    first = Play.objects.aggregate(first=Min("local_date"))["first"]
    if first is None:
        return []
    last = Play.objects.aggregate(last=Max("local_date"))["last"]
    return list(range(last.year, first.year - 1, -1))
