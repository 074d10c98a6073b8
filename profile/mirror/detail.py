"""A movie's or a show's page: what Trakt and TMDB say of it, what the owner thinks of it, and
every play of it (the latest here, the rest in the diary), from the mirror alone.

A show's page also draws its seasons: every episode the mirror knows (played, rated, listed
or commented on; numbers between them that it does not know are drawn as not watched), how
often each was played, and the show's longest binge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Sum

from profile import formatting
from profile.client import image_url
from profile.mirror import library
from profile.mirror.diary import Entry, entries, titles_by_slug
from profile.mirror.queries import play_counts
from profile.mirror.review import Binge, longest_binge
from profile.mirror.titles import TitleInfo
from profile.models import (
    Episode,
    Favorite,
    ListItem,
    Play,
    Rating,
    Title,
    WatchlistItem,
    genre_name,
)

LATEST_PLAYS = 10
BACKDROP_SIZES = ("w780", "w1280")


@dataclass(frozen=True)
class Cell:
    """An episode in the grid of its season."""

    number: int
    title: str  # "" when the mirror does not know the episode
    plays: int
    rating: int | None

    @property
    def label(self) -> str:
        """ "Pilot · 2 plays, rated 8"; "not watched" for one the history does not know."""
        plays = formatting.counted(self.plays, "play") if self.plays else "not watched"
        rated = f", rated {self.rating}" if self.rating else ""
        return f"{self.title} · {plays}{rated}" if self.title else plays + rated


@dataclass(frozen=True)
class SeasonGrid:
    number: int
    cells: list[Cell]

    @property
    def name(self) -> str:
        return formatting.season_name(self.number)

    @property
    def watched(self) -> int:
        return sum(1 for cell in self.cells if cell.plays)


@dataclass(frozen=True)
class TitleDetail:
    title: TitleInfo
    overview: str
    runtime: int | None
    genres: list[tuple[str, str]]  # (slug, name)
    community_rating: float | None
    community_votes: int | None
    backdrop_path: str
    rating: int | None  # the owner's
    rated_at: datetime | None
    plays: int
    minutes: int
    first: datetime | None
    last: datetime | None
    episodes_watched: int  # distinct episodes played (shows)
    latest: list[Entry]
    seasons: list[SeasonGrid]
    binge: Binge | None
    lists: list[tuple[str, str]]  # (slug, name) of the public lists it is on
    watchlisted: datetime | None  # when it went on the watchlist (None: not on it)
    on_watchlist: bool
    favorite: bool
    comments: list[library.CommentItem]

    @property
    def backdrop(self) -> str | None:
        return image_url("w1280", self.backdrop_path) if self.backdrop_path else None

    @property
    def backdrop_srcset(self) -> str:
        if not self.backdrop_path:
            return ""
        return ", ".join(
            f"{image_url(size, self.backdrop_path)} {size[1:]}w" for size in BACKDROP_SIZES
        )

    @property
    def reviews(self) -> list[library.CommentItem]:
        return [comment for comment in self.comments if comment.review]

    @property
    def shouts(self) -> list[library.CommentItem]:
        return [comment for comment in self.comments if not comment.review]


def title_detail(kind: str, slug: str) -> TitleDetail | None:
    """The page of the movie or show (`kind`) whose page slug is `slug`; None if the mirror
    does not know it."""
    title = titles_by_slug(kind, slug).first()
    if title is None:
        return None
    plays = Play.objects.filter(title=title)
    figures = plays.aggregate(
        n=Count("*"), minutes=Sum("runtime"), first=Min("watched_at"), last=Max("watched_at")
    )
    latest = list(
        plays.order_by("-watched_at", "-history_id").values_list("history_id", flat=True)[
            :LATEST_PLAYS
        ]
    )
    rating = Rating.objects.filter(title=title, kind=kind).values_list("rating", "rated_at").first()
    # The title itself, or one of a show's seasons or episodes.
    watchlisted = (
        WatchlistItem.objects.filter(title=title)
        .order_by("rank", "pk")
        .values_list("listed_at", flat=True)
    )
    lists = (
        ListItem.objects.filter(title=title)
        .order_by("list__position", "list_id")
        .values_list("list__slug", "list__name")
        .distinct()
    )
    seasons, watched_episodes = ([], 0)
    if kind == Title.SHOW:
        seasons, watched_episodes = _seasons(title)
    on_watchlist = list(watchlisted[:1])
    return TitleDetail(
        title=TitleInfo.of(title),
        overview=title.overview,
        runtime=title.runtime,
        genres=[(slug, genre_name(slug)) for slug in title.genres.values_list("slug", flat=True)],
        community_rating=title.community_rating,
        community_votes=title.community_votes,
        backdrop_path=title.backdrop_path,
        rating=rating[0] if rating else None,
        rated_at=rating[1] if rating else None,
        plays=figures["n"],
        minutes=figures["minutes"] or 0,
        first=figures["first"],
        last=figures["last"],
        episodes_watched=watched_episodes,
        latest=entries(latest),
        seasons=seasons,
        binge=longest_binge(None, None, title.pk) if kind == Title.SHOW else None,
        lists=list(lists),
        watchlisted=on_watchlist[0] if on_watchlist else None,
        on_watchlist=bool(on_watchlist),
        favorite=Favorite.objects.filter(title=title).exists(),
        comments=library.comments_on(title.pk),
    )


def _seasons(show: Title) -> tuple[list[SeasonGrid], int]:
    """The show's seasons as grids of episodes, and how many distinct episodes were played."""
    plays = play_counts("episode", title=show, kind=Play.EPISODE)
    ratings = dict(
        Rating.objects.filter(title=show, kind="episode").values_list("episode", "rating")
    )
    known: dict[int, dict[int, Cell]] = {}
    for pk, season, number, name in Episode.objects.filter(show=show).values_list(
        "pk", "season", "number", "title"
    ):
        known.setdefault(season, {})[number] = Cell(
            number,
            name or formatting.episode_code(season, number),
            plays.get(pk, 0),
            ratings.get(pk),
        )
    grids = []
    for season in sorted(known, key=lambda n: (n == 0, n)):  # specials last
        cells = known[season]
        grids.append(
            SeasonGrid(
                season,
                [
                    cells.get(n) or Cell(n, "", 0, None)
                    for n in range(min(1, min(cells)), max(cells) + 1)
                ],
            )
        )
    return grids, sum(1 for n in plays.values() if n)
