"""Movies, shows, episodes and plays of the mirror as the pages and the API show them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.db.models import Q
from django.urls import reverse

from profile.client import image_url
from profile.client.schemas import MEDIA_SLUG
from profile.formatting import UNTITLED, episode_code, episode_subtitle
from profile.models import Episode, Play, Title

POSTER_SIZES = ("w154", "w342")
# What a title's or a list's slug can be (as client/schemas.py reads Trakt's): anything else
# in an address names nothing, and never reaches a query.
SLUG = re.compile(MEDIA_SLUG)


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
    def page_slug(self) -> str:
        """The last part of its page's address: Trakt's slug, or its Trakt id without one."""
        return self.slug or str(self.trakt_id)

    @cached_property  # a page draws it twice or more for each of dozens of titles
    def url(self) -> str:
        """Its page on this site (/movies/<slug>, /shows/<slug>)."""
        return reverse("movie" if self.kind == Title.MOVIE else "show", args=[self.page_slug])

    @property
    def thumbnail(self) -> str | None:
        """The poster at one small size, for a row of a long list (the diary)."""
        return image_url("w154", self.poster_path) if self.poster_path else None

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
        slug = self.page_slug
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


def page_of(kind: str, trakt_id: int | None) -> str | None:
    """The page of the movie or show (`kind`) the mirror holds with this Trakt id; None when
    it holds none (what plays now may not be in the history yet)."""
    if trakt_id is None:
        return None
    title = Title.objects.filter(kind=kind, trakt_id=trakt_id).first()
    return TitleInfo.of(title).url if title is not None else None


# --- Matching a media server's item by its ids ------------------------------------------------


def _by_ids(rows, tmdb: int | None, imdb: str | None, tvdb: int | None):
    """The first of `rows` with any of these ids (a server may send some, all or none)."""
    wanted = Q()
    for field, value in (("tmdb_id", tmdb), ("imdb_id", imdb), ("tvdb_id", tvdb)):
        if value:
            wanted |= Q(**{field: value})
    return rows.filter(wanted).first() if wanted else None


def movie_by_ids(tmdb: int | None, imdb: str | None, tvdb: int | None) -> Title | None:
    return _by_ids(Title.objects.filter(kind=Title.MOVIE), tmdb, imdb, tvdb)


def show_by_ids(tmdb: int | None, imdb: str | None, tvdb: int | None) -> Title | None:
    return _by_ids(Title.objects.filter(kind=Title.SHOW), tmdb, imdb, tvdb)


def episode_by_ids(tmdb: int | None, imdb: str | None, tvdb: int | None) -> Episode | None:
    return _by_ids(Episode.objects.select_related("show"), tmdb, imdb, tvdb)


def episode_of(show: Title, season: int, number: int) -> Episode | None:
    return Episode.objects.filter(show=show, season=season, number=number).first()
