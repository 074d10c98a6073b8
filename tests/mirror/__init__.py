"""Rows of the history mirror for tests, written as the sync writes them (local buckets
included), without going through Trakt."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import zoneinfo
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connection

from profile.mirror import state as mirror_state
from profile.mirror.sync import upkeep, writer
from profile.models import Episode, Genre, ListItem, Play, Rating, SyncState, Title, UserList

_ids = itertools.count(1)


def title(
    name: str = "A Film",
    kind: str = Title.MOVIE,
    *,
    genres: tuple[str, ...] = (),
    runtime: int = 100,
    rating: float | None = None,
    votes: int | None = None,
    **fields,
) -> Title:
    number = next(_ids)
    row = Title.objects.create(
        kind=kind,
        trakt_id=fields.pop("trakt_id", number),
        slug=fields.pop("slug", f"title-{number}"),
        title=name,
        runtime=runtime,
        community_rating=rating,
        community_votes=votes,
        **fields,
    )
    for slug in genres:
        row.genres.add(Genre.objects.get_or_create(slug=slug)[0])
    return row


def show(name: str = "A Show", **fields) -> Title:
    return title(name, Title.SHOW, runtime=fields.pop("runtime", 45), **fields)


def episode(of: Title, season: int = 1, number: int = 1, **fields) -> Episode:
    return Episode.objects.create(
        trakt_id=fields.pop("trakt_id", next(_ids) + 1_000_000),
        show=of,
        season=season,
        number=number,
        title=fields.pop("title", f"Episode {number}"),
        runtime=fields.pop("runtime", of.runtime),
        **fields,
    )


def play(
    of: Title | Episode,
    watched_at: str | datetime,
    *,
    runtime: int | None = None,
    history_id: int | None = None,
    action: str = "scrobble",
) -> Play:
    """A play of a movie (a Title) or of an episode, at `watched_at` (UTC when a string
    ends in Z), bucketed in TIME_ZONE like the sync does."""
    moment = datetime.fromisoformat(watched_at) if isinstance(watched_at, str) else watched_at
    is_episode = isinstance(of, Episode)
    row = Play(
        history_id=history_id or next(_ids),
        watched_at=moment,
        action=action,
        kind=Play.EPISODE if is_episode else Play.MOVIE,
        title=of.show if is_episode else of,
        episode=of if is_episode else None,
        runtime=of.runtime if runtime is None else runtime,
    )
    writer.localize(row, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    row.save()
    upkeep.refresh_runs()
    changed()
    return row


def rate(of: Title | Episode, rating: int, rated_at: str = "2024-06-01T12:00:00Z") -> Rating:
    is_episode = isinstance(of, Episode)
    row = Rating.objects.create(
        kind="episode" if is_episode else of.kind,
        trakt_id=of.trakt_id,
        title=of.show if is_episode else of,
        episode=of if is_episode else None,
        rating=rating,
        rated_at=datetime.fromisoformat(rated_at),
    )
    changed()
    return row


def changed() -> None:
    """What the sync does with every change: the cached figures are recomputed."""
    state = mirror_state.state()
    SyncState.objects.filter(pk=state.pk).update(
        version=state.version + 1, time_zone=settings.TIME_ZONE
    )
    mirror_state.forget_mirror()


def library_examples(slug_of) -> None:
    """The movie, show and list the OpenAPI document's examples name (`slug_of(path)`), so
    each of their endpoints answers 200."""
    film = title("Example Film", slug=slug_of("/api/titles/movies/{slug}"))
    show("Example Show", slug=slug_of("/api/titles/shows/{slug}"))
    listed = UserList.objects.create(trakt_id=1, slug=slug_of("/api/lists/{slug}"), name="A List")
    ListItem.objects.create(list=listed, kind="movie", trakt_id=film.trakt_id, title=film)
    changed()


class AtPage:
    """A sync's progress that does `then()` once page `page` of a walk is written (stops
    the run, moves the history, locks the database...), and keeps the notes it is told."""

    def __init__(self, page: int, then=lambda: None):
        self.at = page
        self.then = then
        self.notes: list[str] = []

    def walk(self, kind, first_page, pages, seconds):
        pass

    def note(self, text):
        self.notes.append(text)

    def page(self, page, pages, stored):
        if page == self.at:
            self.then()


@contextlib.contextmanager
def another_writer():
    """Another connection holding the write lock: SQLite's (BEGIN IMMEDIATE) or, on
    PostgreSQL, a lock on the sync's own table (LOCK TABLE)."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        params = connection.get_connection_params()
        other = psycopg.connect(**{k: v for k, v in params.items() if k != "context"})
        other.execute("LOCK TABLE profile_syncstate IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        other.rollback()
        other.close()
