"""The mirror taken anywhere: every play as CSV, the movies as Letterboxd's importer reads them,
and everything as JSON. Each format is a generator of text, streamed from the database a few
thousand rows at a time: a 50,000-play history is never held whole, and the first bytes go
out at once (`manage.py export_history` and /api/export/... share these).

The JSON's shape (documented in API_DOCUMENTATION.md, "Exports") is ours, for scripts: it is
not Trakt's, and `import_trakt_export` does not read it.
"""

from __future__ import annotations

import csv
import json
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from profile import formatting
from profile.mirror.state import mirror, state
from profile.models import (
    Comment,
    Episode,
    Favorite,
    ListItem,
    Play,
    Rating,
    Title,
    UserList,
    WatchlistItem,
)

CHUNK = 2000  # rows read from the database at a time
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    extension: str
    rows: object  # a function giving the text of the export, piece by piece

    def filename(self, owner: str) -> str:
        stem = "letterboxd" if self.name == "letterboxd" else "history"
        return f"nowwatching-{owner or 'export'}-{stem}.{self.extension}"


def iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _plays(**filters) -> Iterator[Play]:
    """Every play, oldest first, with its title and episode, read CHUNK at a time."""
    rows = Play.objects.filter(**filters).select_related("title", "episode")
    return rows.order_by("watched_at", "history_id").iterator(chunk_size=CHUNK)


class _Lines:
    """A file-like object for csv.writer that hands back each line it is given."""

    def write(self, text: str) -> str:
        return text


def _csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Lines(), lineterminator="\n")
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


# --- Letterboxd ---------------------------------------------------------------------------------

# The columns Letterboxd's importer reads (letterboxd.com/about/importing-data/): a film is
# matched by tmdbID or imdbID first, by Title and Year else.
LETTERBOXD = ["Title", "Year", "imdbID", "tmdbID", "WatchedDate", "Rating10", "Rewatch", "Review"]


def letterboxd() -> Iterator[str]:
    """Movies only, one row per play, in order; WatchedDate the owner's day (TIME_ZONE)."""
    ratings = dict(Rating.objects.filter(kind="movie").values_list("title_id", "rating"))
    reviews = _reviews()

    def rows() -> Iterator[list]:
        seen: set[int] = set()
        for play in _plays(kind=Play.MOVIE):
            title = play.title
            rewatch = title.pk in seen
            seen.add(title.pk)
            yield [
                title.title or formatting.UNTITLED,
                title.year or "",
                title.imdb_id,
                title.tmdb_id or "",
                play.local_date.isoformat(),
                ratings.get(title.pk, ""),
                "true" if rewatch else "false",
                "" if rewatch else reviews.get(title.pk, ""),
            ]

    return _csv(LETTERBOXD, rows())


def _reviews() -> dict[int, str]:
    """The owner's review of each movie, by title (the latest, when there are several)."""
    reviews = Comment.objects.filter(kind="movie", review=True).order_by("created_at", "pk")
    return dict(reviews.values_list("title_id", "text"))


# --- Every play as CSV --------------------------------------------------------------------------

HISTORY_CSV = [
    "history_id", "watched_at", "local_date", "local_time", "action", "type", "title", "year",
    "season", "episode", "episode_title", "runtime", "trakt_id", "tmdb_id", "imdb_id", "tvdb_id",
    "episode_trakt_id", "episode_tmdb_id", "episode_imdb_id", "episode_tvdb_id",
]  # fmt: skip


def history_csv() -> Iterator[str]:
    """Every play, movies and episodes, oldest first, with the ids and the owner's day."""

    def rows() -> Iterator[list]:
        zone = zoneinfo.ZoneInfo(mirror().time_zone)
        for play in _plays():
            title, episode = play.title, play.episode
            local = play.watched_at.astimezone(zone)
            yield [
                play.history_id,
                iso(play.watched_at),
                play.local_date.isoformat(),
                local.strftime("%H:%M"),
                play.action,
                play.kind,
                title.title or formatting.UNTITLED,
                title.year or "",
                *(_episode_cells(episode) if episode else ["", "", ""]),
                play.runtime,
                title.trakt_id,
                title.tmdb_id or "",
                title.imdb_id,
                title.tvdb_id or "",
                *(_episode_ids(episode) if episode else ["", "", "", ""]),
            ]

    return _csv(HISTORY_CSV, rows())


def _episode_cells(episode: Episode) -> list:
    return [episode.season, episode.number, episode.title]


def _episode_ids(episode: Episode) -> list:
    return [episode.trakt_id, episode.tmdb_id or "", episode.imdb_id, episode.tvdb_id or ""]


# --- Everything as JSON -------------------------------------------------------------------------


def everything_json() -> Iterator[str]:
    """One JSON document, streamed: {"format", "version", "exported_at", "owner", "time_zone",
    "titles": [...], "episodes": [...], "plays": [...], "ratings": [...], "favorites": [...],
    "watchlist": [...], "lists": [...], "comments": [...]} (only public lists are mirrored)."""
    state = mirror()
    head = {
        "format": "nowwatching-export",
        "version": FORMAT_VERSION,
        "exported_at": iso(datetime.now(UTC)),
        "owner": owner(),
        "time_zone": state.time_zone,
    }
    yield json.dumps(head)[:-1]
    sections = {
        "titles": (_title_json(t) for t in Title.objects.order_by("pk").iterator(CHUNK)),
        "episodes": (
            _episode_json(e)
            for e in Episode.objects.select_related("show").order_by("pk").iterator(CHUNK)
        ),
        "plays": (_play_json(p) for p in _plays()),
        "ratings": (
            _rating_json(r)
            for r in Rating.objects.select_related("title", "episode")
            .order_by("rated_at", "pk")
            .iterator(CHUNK)
        ),
        "favorites": (
            _listed_json(f) for f in Favorite.objects.select_related("title").order_by("rank")
        ),
        "watchlist": (
            _listed_json(w) for w in WatchlistItem.objects.select_related("title").order_by("rank")
        ),
        "lists": (_list_json(user_list) for user_list in UserList.objects.order_by("position")),
        "comments": (
            _comment_json(c)
            for c in Comment.objects.select_related("title", "episode").order_by("created_at")
        ),
    }
    for name, items in sections.items():
        yield from _json_array(name, items)
    yield "}\n"


def _json_array(name: str, items: Iterable[dict]) -> Iterator[str]:
    yield f', "{name}": ['
    first = True
    for item in items:
        yield ("" if first else ",") + "\n  " + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]"


def _ids(row) -> dict:
    return {"trakt": row.trakt_id, "tmdb": row.tmdb_id, "imdb": row.imdb_id or None,
            "tvdb": row.tvdb_id}  # fmt: skip


def _title_json(title: Title) -> dict:
    return {
        "type": title.kind,
        "title": title.title,
        "year": title.year,
        "runtime": title.runtime,
        "ids": _ids(title) | {"slug": title.slug or None},
    }


def _episode_json(episode: Episode) -> dict:
    return {
        "show_trakt_id": episode.show.trakt_id,
        "season": episode.season,
        "number": episode.number,
        "title": episode.title,
        "runtime": episode.runtime,
        "ids": _ids(episode),
    }


def _play_json(play: Play) -> dict:
    body = {
        "id": play.history_id,
        "watched_at": iso(play.watched_at),
        "local_date": play.local_date.isoformat(),
        "action": play.action,
        "type": play.kind,
        "runtime": play.runtime,
        "title_trakt_id": play.title.trakt_id,
    }
    if play.episode is not None:
        body["episode_trakt_id"] = play.episode.trakt_id
    return body


def _rating_json(rating: Rating) -> dict:
    return {
        "type": rating.kind,
        "trakt_id": rating.trakt_id,
        "title_trakt_id": rating.title.trakt_id,
        "rating": rating.rating,
        "rated_at": iso(rating.rated_at),
    }


def _listed_json(row: Favorite | WatchlistItem | ListItem) -> dict:
    """A favourite (a movie or a show), or an item of the watchlist or of a list (a season
    or an episode too)."""
    kind = getattr(row, "kind", row.title.kind)
    body = {
        "type": kind,
        "trakt_id": getattr(row, "trakt_id", row.title.trakt_id),
        "title_trakt_id": row.title.trakt_id,
        "rank": row.rank,
        "listed_at": iso(row.listed_at) if row.listed_at else None,
        "notes": row.notes or None,
    }
    if kind in ("season", "episode"):
        body["season"] = row.season
    return body


def _list_json(user_list: UserList) -> dict:
    items = user_list.items.select_related("title").order_by("position")
    return {
        "trakt_id": user_list.trakt_id,
        "slug": user_list.slug,
        "name": user_list.name,
        "description": user_list.description or None,
        "sort_by": user_list.sort_by or None,
        "sort_how": user_list.sort_how or None,
        "updated_at": iso(user_list.updated_at) if user_list.updated_at else None,
        "likes": user_list.likes,
        "items": [_listed_json(item) for item in items],
    }


def _comment_json(comment: Comment) -> dict:
    body = {
        "id": comment.trakt_id,
        "type": comment.kind,
        "title_trakt_id": comment.title.trakt_id,
        "review": comment.review,
        "spoiler": comment.spoiler,
        "text": comment.text,
        "rating": comment.user_rating,
        "likes": comment.likes,
        "replies": comment.replies,
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at) if comment.updated_at else None,
    }
    if comment.kind in ("season", "episode"):
        body["season"] = comment.season
    if comment.episode is not None:
        body["episode_trakt_id"] = comment.episode.trakt_id
    return body


def owner() -> str:
    """Whose history the mirror holds ("demo" for the demo's)."""
    if settings.DEMO_MODE:
        return "demo"
    return settings.TRAKT_USERNAME or state().owner.rsplit("/", 1)[-1]


FORMATS = {
    "letterboxd": Format("letterboxd", "text/csv; charset=utf-8", "csv", letterboxd),
    "csv": Format("csv", "text/csv; charset=utf-8", "csv", history_csv),
    "json": Format("json", "application/json", "json", everything_json),
}
