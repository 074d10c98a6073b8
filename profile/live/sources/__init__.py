"""The media servers as a source of what plays: each server's webhook body, checked at the
boundary and turned into one typed `PlayerEvent` (or `Ignored`, or `BadPayload`).

- `events.py`: `PlayerEvent`, `PlayerItem`, `ExternalIds`, and the loose field types the
  servers' bodies need (numbers and booleans that may come as strings);
- `plex.py`: Plex's webhooks (the JSON of the multipart body's `payload` field);
- `jellyfin.py`: Jellyfin's official plugin (flat keys, "Send All Properties") and the widely
  used unofficial one (nested `Event`/`Item`/`Session`);
- `emby.py`: Emby's own webhooks.

    parse("plex", body, received_at)  # -> PlayerEvent | Ignored; BadPayload if unreadable
"""

from __future__ import annotations

from datetime import datetime

from profile.live.sources import emby, jellyfin, plex
from profile.live.sources.events import (
    BadPayload,
    ExternalIds,
    Ignored,
    PlayerEvent,
    PlayerItem,
    decode,
)

PARSERS = {"plex": plex.parse, "jellyfin": jellyfin.parse, "emby": emby.parse}
SOURCES = tuple(PARSERS)

__all__ = [
    "SOURCES",
    "BadPayload",
    "ExternalIds",
    "Ignored",
    "PlayerEvent",
    "PlayerItem",
    "parse",
]


def parse(source: str, body: bytes, received_at: datetime) -> PlayerEvent | Ignored:
    """One webhook body of `source` (a key of PARSERS) as a player event."""
    return PARSERS[source](decode(body), received_at)
