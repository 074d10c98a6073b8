"""Jellyfin's webhooks, from either plugin (one address takes both):

- the official `jellyfin-plugin-webhook` with "Send All Properties": flat keys,
  `NotificationType` PlaybackStart, PlaybackProgress (repeatedly, `IsPaused` saying whether
  it is paused) and PlaybackStop, the item's ids as `Provider_tmdb`/`_imdb`/`_tvdb`;
- the unofficial `shemanaev/jellyfin-plugin-webhooks` ("Default" format): `Event` Play, Pause,
  Resume, Stop, Progress, Scrobble, with the item (`Item`, a BaseItemDto), the user and the
  session nested.

Positions are ticks (100 ns). Reference: upstream-more.md 5.2.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from profile.client.schemas import Body
from profile.live.sources.events import (
    Action,
    BadPayload,
    ExternalIds,
    Ignored,
    LooseBool,
    LooseInt,
    LooseText,
    LooseTime,
    PlayerEvent,
    PlayerItem,
    item,
    seconds_from_ticks,
)

Ids = dict[str, Any]

OFFICIAL: dict[str, Action] = {
    "PlaybackStart": "play",
    "PlaybackProgress": "progress",
    "PlaybackStop": "stop",
}
UNOFFICIAL: dict[str, Action] = {
    "Play": "play",
    "Pause": "pause",
    "Resume": "resume",
    "Stop": "stop",
    "Progress": "progress",
    "Scrobble": "progress",  # past 90 %: watched, still playing
}


class Flat(Body):
    """The official plugin's "Send All Properties" body (only what we read)."""

    NotificationType: str = Field(max_length=64)
    NotificationUsername: LooseText = None
    ItemType: str = Field(default="", max_length=32)
    Name: LooseText = None
    SeriesName: LooseText = None
    Year: LooseInt = None
    SeasonNumber: LooseInt = None
    EpisodeNumber: LooseInt = None
    RunTimeTicks: LooseInt = None
    PlaybackPositionTicks: LooseInt = None
    IsPaused: LooseBool = None
    PlayedToCompletion: LooseBool = None
    UtcTimestamp: LooseTime = None


class JellyfinUserData(Body):
    PlaybackPositionTicks: LooseInt = None
    Played: LooseBool = None


class NestedItem(Body):
    Name: LooseText = None
    Type: str = Field(default="", max_length=32)
    SeriesName: LooseText = None
    ProductionYear: LooseInt = None
    ParentIndexNumber: LooseInt = None
    IndexNumber: LooseInt = None
    RunTimeTicks: LooseInt = None
    ProviderIds: Ids = Field(default_factory=dict, max_length=50)
    SeriesProviderIds: Ids = Field(default_factory=dict, max_length=50)
    UserData: JellyfinUserData | None = None


class JellyfinPlayState(Body):
    PositionTicks: LooseInt = None
    IsPaused: LooseBool = None


class JellyfinSession(Body):
    PlayState: JellyfinPlayState | None = None


class NamedUser(Body):
    Name: LooseText = None


class JellyfinSeries(Body):
    Name: LooseText = None
    ProductionYear: LooseInt = None
    ProviderIds: Ids = Field(default_factory=dict, max_length=50)


class Nested(Body):
    """The unofficial plugin's "Default" body (only what we read)."""

    Event: str = Field(max_length=64)
    Item: NestedItem | None = None
    User: NamedUser = NamedUser()
    Session: JellyfinSession | None = None
    Series: JellyfinSeries | None = None


def parse(data: dict, received_at: datetime) -> PlayerEvent | Ignored:
    try:
        if "NotificationType" in data:
            return _official(Flat.model_validate(data), data, received_at)
        if "Event" in data:
            return _unofficial(Nested.model_validate(data), received_at)
    except ValidationError:
        pass
    raise BadPayload("This is not a body of either Jellyfin webhook plugin.")


def _official(body: Flat, data: dict, received_at: datetime) -> PlayerEvent | Ignored:
    action = OFFICIAL.get(body.NotificationType)
    if action is None:
        return Ignored(f"not a playback event ({body.NotificationType[:40]})")
    episode = body.ItemType.lower() == "episode"
    provider = {
        key[len("provider_") :]: value
        for key, value in data.items()
        if isinstance(key, str) and key.lower().startswith("provider_")
    }
    played = item(
        body.ItemType,
        body.SeriesName if episode else body.Name,
        year=body.Year,  # for an episode, the plugin sends its series' year
        season=body.SeasonNumber,
        number=body.EpisodeNumber,
        episode_title=body.Name,
        ids=ExternalIds.from_mapping(provider),
        duration=seconds_from_ticks(body.RunTimeTicks),
    )
    if isinstance(played, Ignored):
        return played
    if action == "progress" and body.IsPaused:
        action = "pause"  # the plugin's only word for a pause
    return PlayerEvent(
        source="jellyfin",
        action=action,
        user=body.NotificationUsername or "",
        item=played,
        position=seconds_from_ticks(body.PlaybackPositionTicks),
        received_at=received_at,
        sent_at=body.UtcTimestamp,
        completed=bool(body.PlayedToCompletion),
    )


def _unofficial(body: Nested, received_at: datetime) -> PlayerEvent | Ignored:
    action = UNOFFICIAL.get(body.Event)
    if action is None:
        return Ignored(f"not a playback event ({body.Event[:40]})")
    media = body.Item
    if media is None:
        raise BadPayload("A Jellyfin playback event without its Item.")
    series = body.Series or JellyfinSeries()
    state = (
        body.Session.PlayState if body.Session and body.Session.PlayState else JellyfinPlayState()
    )
    ticks = state.PositionTicks
    if ticks is None and media.UserData is not None:
        ticks = media.UserData.PlaybackPositionTicks
    played = item_of(media, series)
    if isinstance(played, Ignored):
        return played
    if action == "progress" and state.IsPaused:
        action = "pause"
    return PlayerEvent(
        source="jellyfin",
        action=action,
        user=body.User.Name or "",
        item=played,
        position=seconds_from_ticks(ticks),
        received_at=received_at,
        completed=body.Event == "Scrobble",
    )


def item_of(media: NestedItem, series: JellyfinSeries | None = None) -> PlayerItem | Ignored:
    """A BaseItemDto (Jellyfin's, and Emby's: Jellyfin is its fork) as a PlayerItem. An
    episode's year is its own, so the show's comes from `series`, when the body has it."""
    episode = media.Type.lower() == "episode"
    series = series or JellyfinSeries()
    return item(
        media.Type,
        (media.SeriesName or series.Name) if episode else media.Name,
        year=series.ProductionYear if episode else media.ProductionYear,
        season=media.ParentIndexNumber,
        number=media.IndexNumber,
        episode_title=media.Name,
        ids=ExternalIds.from_mapping(media.ProviderIds),
        show_ids=ExternalIds.from_mapping(series.ProviderIds or media.SeriesProviderIds),
        duration=seconds_from_ticks(media.RunTimeTicks),
    )
