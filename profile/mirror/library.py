"""The owner's library as the pages and the API show it: the favourites, the watchlist, the
public lists and their items, the comments and reviews (mirror/sync/library.py keeps them).

Every item points at a title the mirror holds (its poster, its page); each says how often
the owner played it, so a visitor sees at a glance what is still to watch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from profile import formatting
from profile.mirror.queries import play_counts
from profile.mirror.titles import SLUG, EpisodeInfo, TitleInfo
from profile.models import Comment, Favorite, ListItem, Play, UserList, WatchlistItem

FAVORITES_SHOWN = 12
REVIEWS_SHOWN = 3
LIST_POSTERS = 4


def episode_info(episode) -> EpisodeInfo | None:
    if episode is None:
        return None
    return EpisodeInfo(
        episode.season,
        episode.number,
        episode.title,
        episode.trakt_id,
        episode.tmdb_id,
        episode.imdb_id,
        episode.tvdb_id,
    )


@dataclass(frozen=True)
class Entry:
    """A favourite, a watchlist item or a list's item."""

    title: TitleInfo
    kind: str  # movie, show, season or episode
    season: int | None
    episode: EpisodeInfo | None
    rank: int
    listed_at: datetime | None
    notes: str
    plays: int  # the owner's plays of the title (of the episode, for an episode)

    @property
    def subtitle(self) -> str:
        """What of the show it is: "Season 2", "S1E4 - Title"; "" for a movie or show."""
        if self.episode is not None:
            return self.episode.subtitle
        if self.season is not None:
            return formatting.season_name(self.season)
        return ""

    @property
    def line(self) -> str:
        """The line under its poster: what of the show it is, else the year."""
        return self.subtitle or (str(self.title.year) if self.title.year else "")

    @property
    def played(self) -> str:
        return formatting.counted(self.plays, "play") if self.plays else "not played yet"


def _plays(rows: list) -> dict:
    """The owner's plays of these rows' titles, and of their episodes."""
    wanted = {row.episode_id for row in rows if getattr(row, "episode_id", None)}
    return {
        "title": play_counts("title", title__in={row.title_id for row in rows}),
        "episode": play_counts("episode", episode__in=wanted) if wanted else {},
    }


def _entries(rows: list) -> list[Entry]:
    plays = _plays(rows)
    entries = []
    for row in rows:
        episode = getattr(row, "episode", None)
        count = (
            plays["episode"].get(row.episode_id, 0)
            if episode is not None
            else plays["title"].get(row.title_id, 0)
        )
        entries.append(
            Entry(
                TitleInfo.of(row.title),
                getattr(row, "kind", row.title.kind),
                getattr(row, "season", None),
                episode_info(episode),
                row.rank,
                row.listed_at,
                row.notes,
                count,
            )
        )
    return entries


def favorites(limit: int | None = FAVORITES_SHOWN) -> list[Entry]:
    """The owner's favourites, in their order (up to `limit`)."""
    rows = Favorite.objects.select_related("title").order_by("rank", "pk")
    return _entries(list(rows[:limit] if limit else rows))


def watchlist(offset: int = 0, limit: int | None = None) -> tuple[list[Entry], int]:
    """The watchlist in the owner's order, from `offset`; and how many items it holds."""
    rows = WatchlistItem.objects.select_related("title", "episode").order_by("rank", "pk")
    chosen = rows[offset : offset + limit] if limit else rows[offset:]
    return _entries(list(chosen)), rows.count()


@dataclass(frozen=True)
class ListSummary:
    slug: str
    name: str
    description: str
    items: int  # as this site holds them
    likes: int
    updated_at: datetime | None
    posters: list[TitleInfo]  # its first few titles


def _summary(row: UserList, posters: list[TitleInfo], items: int) -> ListSummary:
    return ListSummary(
        row.slug, row.name, row.description, items, row.likes, row.updated_at, posters
    )


def lists() -> list[ListSummary]:
    """The owner's public lists (the only ones this site holds), in Trakt's order."""
    rows = list(UserList.objects.annotate(stored=Count("items")).order_by("position", "pk"))
    posters: dict[int, list[TitleInfo]] = {row.pk: [] for row in rows}
    firsts = (
        ListItem.objects.filter(list__in=rows, position__lt=LIST_POSTERS)
        .select_related("title")
        .order_by("list", "position")
    )
    for item in firsts:
        posters[item.list_id].append(TitleInfo.of(item.title))
    return [_summary(row, posters[row.pk], row.stored) for row in rows]


def user_list(
    slug: str, offset: int = 0, limit: int | None = None
) -> tuple[ListSummary, list[Entry]] | None:
    """A public list and its items, in its own order; None for a slug it does not know."""
    if not SLUG.fullmatch(slug):
        return None
    row = UserList.objects.filter(slug=slug).order_by("position", "pk").first()
    if row is None:
        return None
    items = ListItem.objects.filter(list=row).select_related("title", "episode")
    items = items.order_by("position", "pk")
    chosen = items[offset : offset + limit] if limit else items[offset:]
    entries = _entries(list(chosen))
    return _summary(row, [e.title for e in entries[:LIST_POSTERS]], items.count()), entries


# --- Comments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentItem:
    """One of the owner's comments: a shout or a review, on a title, a season or an episode."""

    trakt_id: int
    title: TitleInfo
    kind: str
    season: int | None
    episode: EpisodeInfo | None
    text: str
    spoiler: bool  # Trakt marks the whole of it a spoiler
    review: bool
    rating: int | None  # the rating given with it
    likes: int
    created_at: datetime

    @property
    def parts(self) -> list[tuple[bool, str]]:
        """The text in pieces, each (whether to fold it away as a spoiler, its text)."""
        if self.spoiler:
            return [(True, self.text)]
        return formatting.spoiler_parts(self.text)

    @property
    def about(self) -> str:
        """What of the title it is about: "S1E2 - Title", "Season 2", or ""."""
        if self.episode is not None:
            return self.episode.subtitle
        if self.season is not None:
            return formatting.season_name(self.season)
        return ""


def _comments(rows: QuerySet) -> list[CommentItem]:
    return [
        CommentItem(
            row.trakt_id,
            TitleInfo.of(row.title),
            row.kind,
            row.season,
            episode_info(row.episode),
            row.text,
            row.spoiler,
            row.review,
            row.user_rating,
            row.likes,
            row.created_at,
        )
        for row in rows.select_related("title", "episode")
    ]


def latest_reviews(limit: int = REVIEWS_SHOWN) -> list[CommentItem]:
    return _comments(
        Comment.objects.filter(review=True).order_by("-created_at", "-trakt_id")[:limit]
    )


def comments_on(title_id: int) -> list[CommentItem]:
    """The owner's comments on a title (its seasons and episodes too), reviews first."""
    return _comments(
        Comment.objects.filter(title=title_id).order_by("-review", "-created_at", "-trakt_id")
    )


def examples() -> dict[str, object]:
    """Values for the API's path parameters (by operation: "movie.slug") that name something
    the mirror holds: the newest year with plays, the latest played movie and show, the
    first list (/api-test)."""
    found: dict[str, object] = {}
    latest = Play.objects.order_by("-watched_at").values_list("local_date", flat=True).first()
    if latest is not None:
        found["yyyy"] = latest.year
    for kind, name in (("movie", "movie.slug"), ("episode", "show.slug")):
        title = (
            Play.objects.filter(kind=kind)
            .order_by("-watched_at")
            .select_related("title")
            .only("title__slug", "title__trakt_id", "title__kind")
            .first()
        )
        if title is not None:
            found[name] = TitleInfo.of(title.title).page_slug
    first_list = UserList.objects.order_by("position", "pk").values_list("slug", flat=True).first()
    if first_list is not None:
        found["list.slug"] = first_list
    return found
