"""Trakt's poll: what plays now, asked of Trakt (once per reuse window, through the cache),
with its TMDB artwork."""

from __future__ import annotations

import logging

from django.conf import settings

from profile.client import ImageBytes, TmdbImages, TraktWatching, UpstreamError, tmdb, trakt
from profile.live.cache import kept_a_day
from profile.live.ended import note_ended
from profile.live.watching import NowWatching, from_trakt, image_set
from profile.mirror.schedule import note_watching
from profile.signin.credentials import as_owner, tmdb_auth

log = logging.getLogger(__name__)


def fetch_watching() -> NowWatching | None:
    if settings.EXPORT_ONLY:
        return None  # no Trakt API app to ask: only a media server can say what plays
    playing = as_owner(trakt.watching)
    # What plays changed: the history job syncs within a minute (what just ended shows up).
    note_watching(_what_plays(playing))
    answer = None if playing is None else from_trakt(playing, _images_for(playing))
    note_ended(answer)
    return answer


def _what_plays(playing: TraktWatching | None) -> str:
    if playing is None:
        return "idle"
    media = playing.movie if playing.type == "movie" else playing.episode
    return f"{playing.type}:{media.ids.trakt}:{playing.started_at}"


def _images_for(playing: TraktWatching) -> dict[str, str]:
    if playing.type == "movie":
        return images_for("movie", playing.movie.ids.tmdb)
    episode = playing.episode
    return images_for("episode", playing.show.ids.tmdb, (episode.season, episode.number))


def images_for(kind: str, tmdb_id: int | None, place: tuple[int, int] | None = None) -> dict:
    """TMDB artwork of a movie, or of an episode (`place`: its season and number) of the show
    `tmdb_id`; TMDB failing or a missing id only cost the images."""
    if tmdb_id is None:
        return {}
    if kind == "movie":
        return image_set(_tmdb_cached(("movie", tmdb_id)))
    artwork = _tmdb_cached(("tv", tmdb_id))
    stills = _tmdb_cached(("episode", tmdb_id, *place)) if place is not None else None
    return image_set(artwork, stills)


def _tmdb_cached(what: tuple) -> TmdbImages:
    name = "tmdb:" + ":".join(str(part) for part in what)
    if what[0] == "episode":
        return kept_a_day(name, lambda: tmdb.episode_images(tmdb_auth(), *what[1:]), TmdbImages())
    return kept_a_day(name, lambda: tmdb.images(tmdb_auth(), what[0], what[1]), TmdbImages())


# --- Images inlined in the card -------------------------------------------------------------------


# Inlined into every card; a w300 backdrop is some 20 KB, so anything far larger is refused.
CARD_IMAGE_MAX_BYTES = 300_000


def get_image_bytes(url: str) -> ImageBytes | None:
    """An image's bytes for inlining, cached like the TMDB answers; None when it failed."""
    return kept_a_day("tmdb:image:" + url, lambda: _small_image(url), b"") or None


def _small_image(url: str) -> ImageBytes:
    image = tmdb.image(url)
    if len(image.data) > CARD_IMAGE_MAX_BYTES:
        log.warning("TMDB image too large to inline: %s bytes", len(image.data))
        raise UpstreamError("bad_response", "The image is too large to inline.", service="tmdb")
    return image
