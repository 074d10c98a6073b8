"""What is playing now, as one typed value: what the banner, the card and /api/watching show.

Its public JSON form is `profile.api.serialize.watching_json()`, used by /api/watching alone;
the pages and the card read the typed value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from profile.client import HistoryItem, TmdbImages, TraktWatching, image_url
from profile.client.tmdb import best_image
from profile.formatting import UNTITLED, episode_subtitle


@dataclass(frozen=True)
class Progress:
    started_at: str  # exactly as Trakt gave it
    expires_at: str

    # Parsed once per object: every request reads them (kept answers are long-lived objects).
    @cached_property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)

    @cached_property
    def expires(self) -> datetime:
        return datetime.fromisoformat(self.expires_at)

    @property
    def duration_seconds(self) -> int:
        return max(0, round((self.expires - self.started).total_seconds()))

    def percentage(self, now: datetime) -> int:
        """Whole percent played at `now`, clamped to 0–100 (clocks and players drift)."""
        duration = (self.expires - self.started).total_seconds()
        if duration <= 0:
            return 100
        played = (now - self.started).total_seconds() / duration * 100
        return min(100, max(0, math.floor(played)))

    def remaining_seconds(self, now: datetime) -> int:
        return max(0, math.ceil((self.expires - now).total_seconds()))

    def moment(self, now: datetime) -> tuple[int, int]:
        """What of the progress changes with `now`: (percentage, remaining_seconds)."""
        return self.percentage(now), self.remaining_seconds(now)


@dataclass(frozen=True)
class Ids:
    trakt: int
    tmdb: int | None = None
    imdb: str | None = None


@dataclass(frozen=True)
class Links:
    trakt: str | None = None
    imdb: str | None = None
    tmdb: str | None = None


@dataclass(frozen=True)
class PlayingEpisode:
    season: int
    number: int
    title: str | None
    ids: dict[str, Any]


@dataclass(frozen=True)
class NowWatching:
    type: str  # "movie" or "episode"
    action: str  # "scrobble", "checkin", or whatever else Trakt starts sending
    title: str
    subtitle: str | None
    year: int | None
    progress: Progress
    ids: Ids
    links: Links
    images: dict[str, str] = field(default_factory=dict)
    episode: PlayingEpisode | None = None

    @property
    def play(self) -> str:
        """Which title plays: the same film or episode through a pause and resume, which
        may move Trakt's started_at (the page swaps and announces only a new one)."""
        return f"{self.type}:{self.ids.trakt}:{self.subtitle or ''}"

    @property
    def is_checkin(self) -> bool:
        return self.action == "checkin"


def history_lines(item: HistoryItem) -> tuple[str, str | None, int | None]:
    """A history entry's title, episode line and year (the show's, for an episode)."""
    if item.type == "movie":
        return item.movie.title or UNTITLED, None, item.movie.year
    episode = item.episode
    subtitle = episode_subtitle(episode.season, episode.number, episode.title)
    return item.show.title or UNTITLED, subtitle, item.show.year


def from_trakt(watching: TraktWatching, images: dict[str, str]) -> NowWatching:
    progress = Progress(started_at=watching.started_at, expires_at=watching.expires_at)
    # The contract's ids are the movie's or the show's; an episode's own are under `episode`.
    title = watching.movie if watching.type == "movie" else watching.show
    slug = title.ids.slug or str(title.ids.trakt)
    episode = None
    if watching.type == "movie":
        links = Links(
            trakt=f"https://trakt.tv/movies/{slug}",
            imdb=_imdb_link(title.ids.imdb),
            tmdb=_tmdb_link(f"movie/{title.ids.tmdb}", title.ids.tmdb),
        )
    else:
        body = watching.episode
        place = f"season/{body.season}/episode/{body.number}"
        links = Links(
            trakt=f"https://trakt.tv/shows/{slug}/seasons/{body.season}/episodes/{body.number}",
            imdb=_imdb_link(body.ids.imdb),
            tmdb=_tmdb_link(f"tv/{title.ids.tmdb}/{place}", title.ids.tmdb),
        )
        ids = body.ids
        episode = PlayingEpisode(
            season=body.season,
            number=body.number,
            title=body.title,
            ids={"trakt": ids.trakt, "tvdb": ids.tvdb, "imdb": ids.imdb, "tmdb": ids.tmdb},
        )
    return NowWatching(
        type="movie" if watching.type == "movie" else "episode",
        action=watching.action,
        title=title.title or UNTITLED,
        subtitle=None
        if episode is None
        else episode_subtitle(episode.season, episode.number, episode.title),
        year=title.year,
        progress=progress,
        ids=Ids(trakt=title.ids.trakt, tmdb=title.ids.tmdb, imdb=title.ids.imdb),
        links=links,
        images=images,
        episode=episode,
    )


def _imdb_link(imdb_id: str | None) -> str | None:
    return f"https://www.imdb.com/title/{imdb_id}/" if imdb_id else None


def _tmdb_link(path: str, tmdb_id: int | None) -> str | None:
    return f"https://www.themoviedb.org/{path}" if tmdb_id else None


# --- Images ---------------------------------------------------------------------------------------


def image_set(artwork: TmdbImages, stills: TmdbImages | None = None) -> dict[str, str]:
    """The `images` object of the JSON: only the keys TMDB had something for."""
    images: dict[str, str] = {}
    if backdrop := best_image(artwork.backdrops):
        path = backdrop.file_path
        images |= {
            "backdrop": image_url("w1280", path),
            "backdrop_medium": image_url("w780", path),
            "backdrop_small": image_url("w300", path),
            "backdrop_original": image_url("original", path),
        }
    if poster := best_image(artwork.posters):
        images["poster"] = image_url("w342", poster.file_path)
    if stills is not None and (still := best_image(stills.stills)):
        images["still"] = image_url("w300", still.file_path)
    return images
