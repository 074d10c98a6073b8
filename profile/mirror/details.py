"""Runtimes and genres from TMDB for the titles Trakt's data export brought without them.

The sync asks Trakt with extended=full and gets both; the export holds only titles and ids,
so an imported history would count every play as 0 minutes. The background job (and the
import command) asks TMDB for the details of such titles, a few at a time, and gives their
plays the runtime they lacked. A title without a TMDB id, or one TMDB does not know, keeps
its plays at 0 minutes (they still count as plays).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from profile.client import UpstreamError, tmdb
from profile.client.schemas import TmdbDetails
from profile.mirror.state import mark_changed
from profile.mirror.sync.upkeep import refresh_runs
from profile.models import Episode, Genre, Play, Title
from profile.signin.credentials import tmdb_auth, tmdb_configured

DETAILS_BATCH = 20
DETAILS_PAUSE_SECONDS = 0.25
# A title TMDB could not help with is asked again after a week.
DETAILS_RETRY = timedelta(days=7)
# TMDB names genres; Trakt (and so the mirror) slugs them. TV's compound genres are two of
# Trakt's.
TMDB_GENRES = {
    "Science Fiction": ("science-fiction",),
    "Sci-Fi & Fantasy": ("science-fiction", "fantasy"),
    "Action & Adventure": ("action", "adventure"),
    "War & Politics": ("war",),
    "TV Movie": ("tv-movie",),
}


def titles_wanting_details(now) -> Q:
    """Titles with no runtime known (imported ones), not asked lately."""
    asked = Q(details_checked_at__isnull=True) | Q(details_checked_at__lt=now - DETAILS_RETRY)
    return Q(runtime__isnull=True) & asked


def fill_details(
    limit: int = DETAILS_BATCH,
    pause: float = DETAILS_PAUSE_SECONDS,
    sleep: Callable[[float], object] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Asks TMDB for the details of up to `limit` titles that need them; how many it asked
    about. TMDB failing (or not configured) leaves them for the next time."""
    if not tmdb_configured():
        return 0
    now = timezone.now()
    wanted = Title.objects.filter(titles_wanting_details(now)).order_by("pk")[:limit]
    done = 0
    auth = tmdb_auth()
    for title in wanted:
        if should_stop():
            break
        found = None
        if title.tmdb_id is not None:
            kind = "movie" if title.kind == Title.MOVIE else "tv"
            try:
                found = tmdb.details(auth, kind, title.tmdb_id)
            except UpstreamError as error:
                if error.code != "not_found":
                    break  # TMDB failing or not configured: try again later
            sleep(pause)
        _store(title, found, now)
        done += 1
    if done:
        refresh_runs()
        mark_changed()
    return done


def _store(title: Title, details: TmdbDetails | None, now) -> None:
    runtime = None
    if details is not None:
        runtime = details.runtime if title.kind == Title.MOVIE else details.episode_runtime
    with transaction.atomic():
        Title.objects.filter(pk=title.pk).update(runtime=runtime, details_checked_at=now)
        if details is not None and details.genres and not title.genres.exists():
            _set_genres(title, [genre.name for genre in details.genres])
        if runtime:
            plays = Play.objects.filter(title=title, runtime=0)
            if title.kind == Title.SHOW:
                # An episode whose own runtime is known keeps it.
                known = Episode.objects.filter(show=title, runtime__isnull=False)
                plays = plays.exclude(episode__in=known)
            # Their runs are worked out again with the length they now have.
            plays.update(runtime=runtime, run_start=None)


def _set_genres(title: Title, names: list[str]) -> None:
    slugs = []
    for name in names:
        for slug in TMDB_GENRES.get(name, (_slug(name),)):
            if slug and slug not in slugs:
                slugs.append(slug)
    Genre.objects.bulk_create([Genre(slug=slug) for slug in slugs], ignore_conflicts=True)
    title.genres.set(Genre.objects.filter(slug__in=slugs))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
