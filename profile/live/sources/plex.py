"""Plex's webhooks (Plex Pass): the JSON of the multipart body's `payload` field.

    {"event": "media.play", "Account": {"title": "sean"}, "Player": {...},
     "Metadata": {"type": "movie", "title": "Super 8", "year": 2011, "duration": 6720000,
                  "viewOffset": 3360000, "Guid": [{"id": "imdb://tt1650062"}, ...]}}

Only state changes are sent, no periodic progress; `viewOffset` (ms) may be missing. New
agents list the item's ids in `Guid[]` (an episode's own ids, not its show's); legacy ones
put one in `guid` (`com.plexapp.agents.thetvdb://<show>/<season>/<episode>`). Reference:
upstream-more.md 5.1.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field, ValidationError

from profile.client.schemas import Body
from profile.live.sources.events import (
    Action,
    BadPayload,
    ExternalIds,
    Ignored,
    LooseInt,
    LooseText,
    PlayerEvent,
    item,
)

ACTIONS: dict[str, Action] = {
    "media.play": "play",
    "media.pause": "pause",
    "media.resume": "resume",
    "media.stop": "stop",
    # Past 90 %: Plex counts it watched; the play goes on (the credits).
    "media.scrobble": "progress",
}
_GUID = re.compile(r"(imdb|tmdb|tvdb)://([A-Za-z0-9]{1,16})")
_LEGACY = re.compile(
    r"com\.plexapp\.agents\.(imdb|themoviedb|thetvdb)://([A-Za-z0-9]{1,16})(?:/(\d+)/(\d+))?"
)


class PlexAccount(Body):
    title: LooseText = None


class PlexGuid(Body):
    id: str = Field(default="", max_length=200)


class PlexMetadata(Body):
    type: str = Field(default="", max_length=32)
    title: LooseText = None
    grandparentTitle: LooseText = None  # noqa: N815 (Plex's names)
    year: LooseInt = None
    grandparentYear: LooseInt = None  # noqa: N815
    parentIndex: LooseInt = None  # noqa: N815
    index: LooseInt = None
    duration: LooseInt = None  # ms
    viewOffset: LooseInt = None  # noqa: N815 (ms)
    guid: str = Field(default="", max_length=300)
    Guid: list[PlexGuid] = Field(default_factory=list, max_length=20)


class Payload(Body):
    event: str = Field(max_length=64)
    Account: PlexAccount = PlexAccount()
    Metadata: PlexMetadata | None = None


def parse(data: dict, received_at: datetime) -> PlayerEvent | Ignored:
    try:
        payload = Payload.model_validate(data)
    except ValidationError:
        raise BadPayload("This is not a Plex webhook body.") from None
    action = ACTIONS.get(payload.event)
    if action is None:
        return Ignored(f"not a playback event ({payload.event[:40]})")
    meta = payload.Metadata
    if meta is None:
        raise BadPayload("A Plex playback event without its Metadata.")
    ids, show_ids, season, number = _ids(meta)
    episode = meta.type == "episode"
    played = item(
        meta.type,
        meta.grandparentTitle if episode else meta.title,
        # An episode's `year` is its own; the show's, when Plex sends it, is grandparentYear.
        year=meta.grandparentYear if episode else meta.year,
        season=meta.parentIndex if meta.parentIndex is not None else season,
        number=meta.index if meta.index is not None else number,
        episode_title=meta.title if episode else None,
        ids=ids,
        show_ids=show_ids,
        duration=meta.duration / 1000 if meta.duration else None,
    )
    if isinstance(played, Ignored):
        return played
    return PlayerEvent(
        source="plex",
        action=action,
        user=payload.Account.title or "",
        item=played,
        position=meta.viewOffset / 1000 if meta.viewOffset is not None else None,
        received_at=received_at,
        completed=payload.event == "media.scrobble",
    )


def _ids(meta: PlexMetadata) -> tuple[ExternalIds, ExternalIds, int | None, int | None]:
    """The item's ids from Guid[] (new agents) or guid (legacy: for an episode, the show's
    TVDB id with the season and number)."""
    found: dict[str, str] = {}
    for guid in meta.Guid:
        if match := _GUID.fullmatch(guid.id):
            found.setdefault(match[1], match[2])
    ids = ExternalIds.from_mapping(found)
    legacy = _LEGACY.match(meta.guid)
    if legacy is None:
        return ids, ExternalIds(), None, None
    kind = {"imdb": "imdb", "themoviedb": "tmdb", "thetvdb": "tvdb"}[legacy[1]]
    if meta.type == "episode":
        season = int(legacy[3]) if legacy[3] else None
        number = int(legacy[4]) if legacy[4] else None
        return ids, ExternalIds.from_mapping({kind: legacy[2]}), season, number
    return ids if found else ExternalIds.from_mapping({kind: legacy[2]}), ExternalIds(), None, None
