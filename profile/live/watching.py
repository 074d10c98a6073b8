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
from profile.client.schemas import Episode, Movie
from profile.client.tmdb import best_image
from profile.formatting import UNTITLED, episode_subtitle


@dataclass(frozen=True)
class Progress:
    started_at: str  # exactly as Trakt gave it (a player's: its position, reckoned back)
    expires_at: str
    # A paused player's play: when it paused. The progress stands still from then on.
    paused_at: str | None = None

    # Parsed once per object: every request reads them (kept answers are long-lived objects).
    @cached_property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)

    @cached_property
    def expires(self) -> datetime:
        return datetime.fromisoformat(self.expires_at)

    @cached_property
    def paused(self) -> datetime | None:
        return datetime.fromisoformat(self.paused_at) if self.paused_at else None

    @property
    def duration_seconds(self) -> int:
        return max(0, round((self.expires - self.started).total_seconds()))

    def _at(self, now: datetime) -> datetime:
        return now if self.paused is None else min(now, self.paused)

    def percentage(self, now: datetime) -> int:
        """Whole percent played at `now`, clamped to 0–100 (clocks and players drift)."""
        duration = (self.expires - self.started).total_seconds()
        if duration <= 0:
            return 100
        played = (self._at(now) - self.started).total_seconds() / duration * 100
        return min(100, max(0, math.floor(played)))

    def remaining_seconds(self, now: datetime) -> int:
        return max(0, math.ceil((self.expires - self._at(now)).total_seconds()))

    def elapsed_seconds(self, now: datetime) -> int:
        return min(
            self.duration_seconds, max(0, int((self._at(now) - self.started).total_seconds()))
        )

    def finishing(self, now: datetime) -> bool:
        """Past its end time while still reported playing (the credits, or Trakt's lag)."""
        return self.paused is None and now >= self.expires

    def moment(self, now: datetime) -> tuple[int, int]:
        """What of the progress changes with `now`: (percentage, remaining_seconds)."""
        return self.percentage(now), self.remaining_seconds(now)


@dataclass(frozen=True)
class Ids:
    trakt: int | None  # None: a player's play that could not be matched on Trakt
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
    source: str = "trakt"  # or the media server that reports it: plex, jellyfin, emby
    play_key: str | None = None  # a player's own name for the play (see `play`)

    @property
    def play(self) -> str:
        """Which title plays: the same film or episode through a pause and resume, which
        may move Trakt's started_at (the page swaps and announces only a new one). A
        player's play keeps its name while its Trakt ids and artwork are looked up."""
        return self.play_key or f"{self.type}:{self.ids.trakt}:{self.subtitle or ''}"

    @property
    def is_checkin(self) -> bool:
        return self.action == "checkin"

    def same_title(self, other: NowWatching) -> bool:
        """The same film or episode, as two sources name it (Trakt, a player): by the first
        id both know (Trakt's, TMDB's, IMDb's), else by title."""
        if self.type != other.type:
            return False
        if self.episode and other.episode:
            if (self.episode.season, self.episode.number) != (
                other.episode.season,
                other.episode.number,
            ):
                return False
        for mine, theirs in zip(
            (self.ids.trakt, self.ids.tmdb, self.ids.imdb),
            (other.ids.trakt, other.ids.tmdb, other.ids.imdb),
            strict=True,
        ):
            if mine is not None and theirs is not None:
                return mine == theirs
        return self.title.casefold() == other.title.casefold()

    def state(self, now: datetime) -> str:
        """playing, paused (a player says so), or finishing (past its end time)."""
        if self.progress.paused is not None:
            return "paused"
        return "finishing" if self.progress.finishing(now) else "playing"


def history_lines(item: HistoryItem) -> tuple[str, str | None, int | None]:
    """A history entry's title, episode line and year (the show's, for an episode)."""
    if item.type == "movie":
        return item.movie.title or UNTITLED, None, item.movie.year
    episode = item.episode
    subtitle = episode_subtitle(episode.season, episode.number, episode.title)
    return item.show.title or UNTITLED, subtitle, item.show.year


@dataclass(frozen=True)
class Titled:
    """What plays, named: the film, or the show and episode, with ids and links. From Trakt's
    objects (`titled`), or from a player's own when Trakt has no match (`untitled_on_trakt`)."""

    type: str  # "movie" or "episode"
    title: str
    subtitle: str | None
    year: int | None
    ids: Ids
    links: Links
    episode: PlayingEpisode | None = None
    runtime: int | None = None  # minutes, when Trakt says (extended=full)


def titled(
    kind: str, media: Movie, episode: Episode | None = None, place: tuple[int, int] | None = None
) -> Titled:
    """A movie, or an episode (`episode`, or only its season and number: `place`) of the show
    `media`, as Trakt describes them."""
    # The contract's ids are the movie's or the show's; an episode's own are under `episode`.
    slug = media.ids.slug or str(media.ids.trakt)
    ids = Ids(trakt=media.ids.trakt, tmdb=media.ids.tmdb, imdb=media.ids.imdb)
    if kind == "movie":
        return Titled(
            "movie",
            media.title or UNTITLED,
            None,
            media.year,
            ids,
            Links(
                trakt=f"https://trakt.tv/movies/{slug}",
                imdb=imdb_link(media.ids.imdb),
                tmdb=tmdb_link(f"movie/{media.ids.tmdb}", media.ids.tmdb),
            ),
            runtime=media.runtime,
        )
    season, number = (episode.season, episode.number) if episode is not None else place
    where = f"season/{season}/episode/{number}"
    own = episode.ids if episode is not None else None
    playing = PlayingEpisode(
        season=season,
        number=number,
        title=episode.title if episode is not None else None,
        ids={
            "trakt": own.trakt if own else None,
            "tvdb": own.tvdb if own else None,
            "imdb": own.imdb if own else None,
            "tmdb": own.tmdb if own else None,
        },
    )
    return Titled(
        "episode",
        media.title or UNTITLED,
        episode_subtitle(season, number, playing.title),
        media.year,
        ids,
        Links(
            trakt=f"https://trakt.tv/shows/{slug}/seasons/{season}/episodes/{number}",
            imdb=imdb_link(own.imdb if own else None),
            tmdb=tmdb_link(f"tv/{media.ids.tmdb}/{where}", media.ids.tmdb),
        ),
        playing,
        runtime=(episode.runtime if episode is not None else None) or media.runtime,
    )


def from_trakt(watching: TraktWatching, images: dict[str, str]) -> NowWatching:
    progress = Progress(started_at=watching.started_at, expires_at=watching.expires_at)
    media = watching.movie if watching.type == "movie" else watching.show
    named = titled(watching.type, media, watching.episode)
    return now_watching(named, progress, images, action=watching.action)


def now_watching(named: Titled, progress: Progress, images: dict[str, str], **more) -> NowWatching:
    """A NowWatching of what `named` names, at `progress` (`more`: action, source, play_key)."""
    return NowWatching(
        type=named.type,
        title=named.title,
        subtitle=named.subtitle,
        year=named.year,
        progress=progress,
        ids=named.ids,
        links=named.links,
        images=images,
        episode=named.episode,
        **{"action": "scrobble"} | more,
    )


def imdb_link(imdb_id: str | None) -> str | None:
    return f"https://www.imdb.com/title/{imdb_id}/" if imdb_id else None


def tmdb_link(path: str, tmdb_id: int | None) -> str | None:
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
