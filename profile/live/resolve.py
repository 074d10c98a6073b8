"""A player's item matched on Trakt by its ids, for the links and ids the site shows, and
TMDB's artwork as for Trakt's own plays.

Trakt's id lookup (/search/{imdb|tmdb|tvdb}/{id}) names the movie, or the episode with its
show, from the ids the server sends: the movie's (Plex `Guid[]`, Jellyfin `Provider_*`,
Emby `ProviderIds`), an episode's own, or (Plex's legacy agents, the unofficial Jellyfin
plugin) its show's with the season and number. One lookup per title, kept a day, always
after the webhook was answered (`look_up` is called in the background). When Trakt has no
match (or no id was sent), the player's own ids give what links they can and, with a TMDB
id, the artwork; with no id at all the title shows alone. A site without a Trakt API app
(EXPORT_ONLY) asks Trakt nothing: its own titles, imported with Trakt's ids, name the item.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from profile.client import UpstreamError, trakt
from profile.client.schemas import Episode, Movie
from profile.live.cache import KEY, TMDB_FAILURE_SECONDS, TMDB_SECONDS
from profile.live.poll import images_for
from profile.live.sources import PlayerItem
from profile.live.watching import Ids, Links, PlayingEpisode, Titled, imdb_link, titled, tmdb_link
from profile.mirror import titles
from profile.models import Title
from profile.signin.credentials import as_owner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    """What is known of a player's item: its name, ids and links, and its artwork."""

    named: Titled
    images: dict[str, str] = field(default_factory=dict)
    on_trakt: bool = False  # Trakt's lookup named it (else: the player's own ids)


def kept(item: PlayerItem) -> Match | None:
    """The match kept for `item`, without asking anyone."""
    return cache.get(KEY + _name(item))


def look_up(item: PlayerItem) -> Match:
    """Trakt's match for `item` and its TMDB artwork, kept a day; when Trakt fails, what the
    player's own ids give, kept 5 minutes (then Trakt is asked again)."""
    key = KEY + _name(item)
    found = cache.get(key)
    if found is not None:
        return found
    try:
        found, keep = _on_trakt(item), TMDB_SECONDS
    except UpstreamError:
        found, keep = _offline(item), TMDB_FAILURE_SECONDS
    cache.set(key, found, timeout=keep)
    return found


def _name(item: PlayerItem) -> str:
    """The cache key's name: the item's key and ids (hashed: a title may hold anything)."""
    ids = [f"{kind}={value}" for kind, value in item.ids.lookups() + item.show_ids.lookups()]
    digest = hashlib.sha256("\n".join([item.key, *ids]).encode()).hexdigest()
    return f"player-lookup:{digest[:40]}"


def _on_trakt(item: PlayerItem) -> Match:
    named = _mirrored(item) if settings.EXPORT_ONLY else _trakt_names(item)
    if named is None:
        return _offline(item)
    place = (named.episode.season, named.episode.number) if named.episode else None
    return Match(named, images_for(named.type, named.ids.tmdb, place), on_trakt=True)


def _trakt_names(item: PlayerItem) -> Titled | None:
    """Trakt's movie or episode for the item's ids, tried in turn; None if none matches.
    Raises UpstreamError when Trakt fails (the lookup is then tried again in 5 minutes)."""
    for id_type, value in item.ids.lookups():
        found = _lookup(id_type, value, item.type)
        if found is None:
            continue
        if item.type == "movie":
            return titled("movie", found.movie)
        return titled("episode", found.show, found.episode)
    if item.type == "episode":
        for id_type, value in item.show_ids.lookups():
            found = _lookup(id_type, value, "show")
            if found is not None:
                named = titled("episode", found.show, None, (item.season, item.number))
                # The episode's title is the player's: Trakt's show lookup has none.
                episode = PlayingEpisode(item.season, item.number, item.episode_title, {})
                return _with_episode(named, episode, item)
    return None


def _mirrored(item: PlayerItem) -> Titled | None:
    """The item as the mirror knows it (its titles carry Trakt's ids): a movie by its ids, an
    episode by its own or by its show's with the season and number. None if not there."""
    ids, show_ids = item.ids, item.show_ids
    try:
        if item.type == "movie":
            movie = titles.movie_by_ids(ids.tmdb, ids.imdb, ids.tvdb)
            return titled("movie", _as_trakt(movie)) if movie else None
        episode = titles.episode_by_ids(ids.tmdb, ids.imdb, ids.tvdb)
        show = (
            episode.show
            if episode
            else titles.show_by_ids(show_ids.tmdb, show_ids.imdb, show_ids.tvdb)
        )
        if show is None:
            return None
        episode = episode or titles.episode_of(show, item.season, item.number)
        if episode is None:
            named = titled("episode", _as_trakt(show), None, (item.season, item.number))
            episode_only = PlayingEpisode(item.season, item.number, item.episode_title, {})
            return _with_episode(named, episode_only, item)
        return titled("episode", _as_trakt(show), _as_trakt_episode(episode))
    except DatabaseError:
        return None  # the player's own ids say what they can


def _as_trakt(title: Title) -> Movie:
    """A mirrored title as Trakt's own body, for `titled()`."""
    return Movie.model_validate(
        {"title": title.title, "year": title.year, "runtime": title.runtime,
         "ids": {"trakt": title.trakt_id, "slug": title.slug or None, "tmdb": title.tmdb_id,
                 "imdb": title.imdb_id or None, "tvdb": title.tvdb_id}}
    )  # fmt: skip


def _as_trakt_episode(episode) -> Episode:
    return Episode.model_validate(
        {"season": episode.season, "number": episode.number, "title": episode.title or None,
         "runtime": episode.runtime,
         "ids": {"trakt": episode.trakt_id, "tmdb": episode.tmdb_id,
                 "imdb": episode.imdb_id or None, "tvdb": episode.tvdb_id}}
    )  # fmt: skip


def _lookup(id_type: str, value: str, kind: str):
    return as_owner(lambda auth, user: trakt.lookup(auth, id_type, value, kind))


def _with_episode(named: Titled, episode: PlayingEpisode, item: PlayerItem) -> Titled:
    ids = item.ids
    episode_ids = {"trakt": None, "tvdb": ids.tvdb, "imdb": ids.imdb, "tmdb": ids.tmdb}
    return Titled(
        named.type,
        named.title,
        item.subtitle,
        named.year,
        named.ids,
        Links(
            trakt=named.links.trakt,
            imdb=imdb_link(ids.imdb),
            tmdb=named.links.tmdb,
        ),
        PlayingEpisode(episode.season, episode.number, episode.title, episode_ids),
        named.runtime,
    )


def _offline(item: PlayerItem) -> Match:
    """What the player's own ids give: the artwork with a TMDB id (a movie's, or an
    episode's show's), and `untitled`'s links."""
    named = untitled(item)
    place = (item.season, item.number) if item.type == "episode" else None
    return Match(named, images_for(item.type, named.ids.tmdb, place))


def untitled(item: PlayerItem) -> Titled:
    """The item as the player names it, without asking anyone: links to IMDb and TMDB where
    it sent their ids, no Trakt id or link."""
    ids, show = item.ids, item.show_ids
    if item.type == "movie":
        return Titled(
            "movie",
            item.title,
            None,
            item.year,
            Ids(trakt=None, tmdb=ids.tmdb, imdb=ids.imdb),
            Links(None, imdb_link(ids.imdb), tmdb_link(f"movie/{ids.tmdb}", ids.tmdb)),
        )
    where = f"tv/{show.tmdb}/season/{item.season}/episode/{item.number}"
    return Titled(
        "episode",
        item.title,
        item.subtitle,
        item.year,
        Ids(trakt=None, tmdb=show.tmdb, imdb=show.imdb),
        Links(None, imdb_link(ids.imdb), tmdb_link(where, show.tmdb)),
        PlayingEpisode(
            item.season,
            item.number,
            item.episode_title,
            {"trakt": None, "tvdb": ids.tvdb, "imdb": ids.imdb, "tmdb": ids.tmdb},
        ),
    )
