"""TMDB posters (and backdrops, for the titles' pages) for the mirror's titles, looked up in
the background a few at a time.

Which titles: a query over the mirror (`titles_wanting_posters()`): every title a page can
show (played, rated, a favourite, on the watchlist or a list, commented on), the most
recently played first, so what the pages show first gets its poster first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from profile.client import UpstreamError, tmdb
from profile.client.tmdb import best_image
from profile.mirror.state import mark_changed
from profile.models import Comment, Favorite, ListItem, Play, Rating, Title, WatchlistItem
from profile.signin.credentials import tmdb_auth, tmdb_configured

# A few per tick, a pause between TMDB calls; a title without one is asked again after a
# week, one with one after two months (TMDB's best poster can change).
POSTER_BATCH = 20
POSTER_PAUSE_SECONDS = 0.5
POSTER_RETRY = timedelta(days=7)
POSTER_REFRESH = timedelta(days=60)


def titles_wanting_posters(now: datetime) -> QuerySet[Title]:
    """The titles a page can show whose poster is unknown, or was looked up long ago: the
    most recently played first, then the rest (the favourites, the watchlist, ...)."""
    stale = (
        Q(poster_checked_at__isnull=True)
        | Q(poster_path="", poster_checked_at__lt=now - POSTER_RETRY)
        | Q(poster_checked_at__lt=now - POSTER_REFRESH)
    )
    plays = Play.objects.filter(title=OuterRef("pk"))
    shown = Exists(plays)
    for shelf in (Rating, Favorite, WatchlistItem, ListItem, Comment):
        shown |= Exists(shelf.objects.filter(title=OuterRef("pk")))
    last_played = plays.order_by("-epoch_minute").values("epoch_minute")[:1]
    return (
        Title.objects.filter(stale)
        .filter(shown)
        .annotate(last_played=Subquery(last_played))
        .order_by(F("last_played").desc(nulls_last=True), "pk")
    )


def fill_posters(
    limit: int = POSTER_BATCH,
    pause: float = POSTER_PAUSE_SECONDS,
    sleep: Callable[[float], object] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Looks up TMDB posters for up to `limit` titles that need one; how many it looked up.
    TMDB failing leaves the title for the next time."""
    if not tmdb_configured():
        return 0  # nothing to ask with: no warning every tick
    now = timezone.now()
    auth = tmdb_auth()
    done = 0
    for title in titles_wanting_posters(now)[:limit]:
        if should_stop():
            break
        path = backdrop = ""
        if title.tmdb_id is not None:
            kind = "movie" if title.kind == Title.MOVIE else "tv"
            try:
                images = tmdb.images(auth, kind, title.tmdb_id)
            except UpstreamError:
                break  # TMDB is failing: leave the rest for later
            poster = best_image(images.posters)
            path = poster.file_path if poster else ""
            wide = best_image(images.backdrops)
            backdrop = wide.file_path if wide else ""
            sleep(pause)
        Title.objects.filter(pk=title.pk).update(
            poster_path=path, backdrop_path=backdrop, poster_checked_at=now
        )
        done += 1
    if done:
        mark_changed()
    return done
