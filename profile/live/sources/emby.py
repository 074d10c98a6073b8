"""Emby's own webhooks (Settings → Webhooks; "application/json", or multipart with the JSON
in the `data` field).

    {"Event": "playback.start", "Date": "...", "User": {"Name": "sean"},
     "Item": {"Type": "Episode", "SeriesName": ..., "ParentIndexNumber": 1, "IndexNumber": 3,
              "RunTimeTicks": ..., "ProviderIds": {"Tvdb": ..., "Imdb": ...}},
     "PlaybackInfo": {"PositionTicks": ..., "PlayedToCompletion": false}}

An episode's ids are its own (often without TMDB). Reference: upstream-more.md 5.3.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, ValidationError

from profile.client.schemas import Body
from profile.live.sources.events import (
    Action,
    BadPayload,
    Ignored,
    LooseBool,
    LooseInt,
    LooseTime,
    PlayerEvent,
    seconds_from_ticks,
)
from profile.live.sources.jellyfin import NamedUser, NestedItem, item_of

ACTIONS: dict[str, Action] = {
    "playback.start": "play",
    "playback.pause": "pause",
    "playback.unpause": "resume",
    "playback.stop": "stop",
    "playback.progress": "progress",
    "playback.scrobble": "progress",
}
TESTS = ("system.webhooktest", "system.notificationtest")


class EmbyPlaybackInfo(Body):
    PositionTicks: LooseInt = None
    PlayedToCompletion: LooseBool = None


class Payload(Body):
    Event: str = Field(max_length=64)
    Date: LooseTime = None
    User: NamedUser = NamedUser()
    Item: NestedItem | None = None  # Emby's BaseItemDto, as Jellyfin's (its fork) has it
    PlaybackInfo: EmbyPlaybackInfo = EmbyPlaybackInfo()


def parse(data: dict, received_at: datetime) -> PlayerEvent | Ignored:
    try:
        payload = Payload.model_validate(data)
    except ValidationError:
        raise BadPayload("This is not an Emby webhook body.") from None
    if payload.Event in TESTS:
        return Ignored("Emby's test notification: the webhook works")
    action = ACTIONS.get(payload.Event)
    if action is None:
        return Ignored(f"not a playback event ({payload.Event[:40]})")
    media = payload.Item
    if media is None:
        raise BadPayload("An Emby playback event without its Item.")
    played = item_of(media)
    if isinstance(played, Ignored):
        return played
    info = payload.PlaybackInfo
    return PlayerEvent(
        source="emby",
        action=action,
        user=payload.User.Name or "",
        item=played,
        position=seconds_from_ticks(info.PositionTicks),
        received_at=received_at,
        sent_at=payload.Date,
        completed=bool(info.PlayedToCompletion),
    )
