"""One typed player event, whichever media server sent it, and the loose field types their
bodies need: Jellyfin's plugin sends numbers and booleans as strings when a template renders
them ("62133", "True"), as real JSON values with "Send All Properties", and "" for a value it
has not got; Plex sends milliseconds, Jellyfin and Emby ticks (100 ns)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import BeforeValidator

from profile.client.schemas import MAX_INT, OptText, checked_time, parse_time
from profile.formatting import UNTITLED, episode_subtitle

Action = Literal["play", "pause", "resume", "stop", "progress"]
TICKS_PER_SECOND = 10_000_000


class BadPayload(ValueError):
    """A body that is not what the server sends (not JSON, not its shape): a 400."""


@dataclass(frozen=True)
class Ignored:
    """A good body that says nothing about what plays (a library scan, music, a test)."""

    reason: str


# --- Loose fields ---------------------------------------------------------------------------------


def _loose_int(value: Any) -> int | None:
    """A whole number 0..2**53 from a number or a string of digits; None for anything else
    (an odd value costs that value, never the body)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 16:
            return None
        value = int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_INT:
        return value
    return None


def _loose_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _loose_time(value: Any) -> datetime | None:
    """A zoned ISO 8601 moment, at most 1900..2200 (Jellyfin's have 7 decimals: cut to 6)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return parse_time(checked_time(value))
    except ValueError:
        return None


def _loose_text(value: Any) -> Any:
    # A title that is a bare number ("1917") may come unquoted from a template.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


LooseInt = Annotated[int | None, BeforeValidator(_loose_int)]
LooseBool = Annotated[bool | None, BeforeValidator(_loose_bool)]
LooseTime = Annotated[datetime | None, BeforeValidator(_loose_time)]
LooseText = Annotated[OptText, BeforeValidator(_loose_text)]


def seconds_from_ticks(ticks: int | None) -> float | None:
    return None if ticks is None else ticks / TICKS_PER_SECOND


def decode(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, decoded within limits (depth, no NaN)."""
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        raise BadPayload("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise BadPayload("The body is not a JSON object.")
    return data


# --- The event ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalIds:
    tmdb: int | None = None
    imdb: str | None = None
    tvdb: int | None = None

    def lookups(self) -> list[tuple[str, str]]:
        """(id type, value) in the order Trakt's lookup is best at: IMDb names one title
        whatever its type, TMDB and TVDB numbers are per type."""
        found = [("imdb", self.imdb), ("tmdb", self.tmdb), ("tvdb", self.tvdb)]
        return [(kind, str(value)) for kind, value in found if value]

    @classmethod
    def from_mapping(cls, ids: dict[str, Any] | None) -> ExternalIds:
        """From {"Tmdb": "62133", "imdb": "tt…", ...}, whatever the keys' case."""
        values = {str(key).lower(): value for key, value in (ids or {}).items()}
        return cls(
            tmdb=_loose_int(values.get("tmdb")),
            imdb=_imdb(values.get("imdb")),
            tvdb=_loose_int(values.get("tvdb")),
        )


def _imdb(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("tt") and value[2:].isdigit():
        return value if len(value) <= 14 else None
    return None


@dataclass(frozen=True)
class PlayerItem:
    """What a player plays: a movie, or an episode of a show."""

    type: Literal["movie", "episode"]
    title: str  # the movie's, or the show's
    year: int | None = None
    season: int | None = None
    number: int | None = None
    episode_title: str | None = None
    ids: ExternalIds = field(default_factory=ExternalIds)  # the movie's, or the episode's own
    show_ids: ExternalIds = field(default_factory=ExternalIds)  # an episode's show, if named
    duration: int | None = None  # seconds, if the player says

    @property
    def key(self) -> str:
        """The same film or episode in every event of one server (its ids, else its title)."""
        if self.type == "movie":
            known = self.ids.lookups()
            return f"movie:{known[0][0]}:{known[0][1]}" if known else f"movie:{self.title}"
        return f"episode:{self.title.casefold()}:{self.season}:{self.number}"

    @property
    def subtitle(self) -> str | None:
        if self.type == "movie" or self.season is None or self.number is None:
            return None
        return episode_subtitle(self.season, self.number, self.episode_title)


@dataclass(frozen=True)
class PlayerEvent:
    source: str  # plex, jellyfin, emby
    action: Action
    user: str  # the account that plays, as the server names it
    item: PlayerItem
    position: float | None  # seconds into the item, if the player says
    received_at: datetime  # when it arrived here: progress is reckoned from it
    sent_at: datetime | None = None  # the body's own time, if it has one: for ordering only
    completed: bool = False  # the player counts it watched (Plex's scrobble, PlayedToCompletion)

    def is_from(self, users: tuple[str, ...]) -> bool:
        return self.user.casefold() in {user.casefold() for user in users}


def item(
    kind: str | None,
    title: str | None,
    *,
    year: int | None = None,
    season: int | None = None,
    number: int | None = None,
    episode_title: str | None = None,
    ids: ExternalIds | None = None,
    show_ids: ExternalIds | None = None,
    duration: float | None = None,
) -> PlayerItem | Ignored:
    """A PlayerItem of a movie or an episode; Ignored for any other kind (music, a trailer)."""
    kind = (kind or "").lower()
    if kind not in ("movie", "episode"):
        return Ignored(f"not a movie or an episode ({kind[:20] or 'no type'})")
    if kind == "episode" and (season is None or number is None):
        return Ignored("an episode without its season and number")
    return PlayerItem(
        type=kind,
        title=title or UNTITLED,
        year=year if year and 1800 <= year <= 2200 else None,
        season=season if kind == "episode" else None,
        number=number if kind == "episode" else None,
        episode_title=episode_title if kind == "episode" else None,
        ids=ids or ExternalIds(),
        show_ids=show_ids or ExternalIds(),
        duration=round(duration) if duration and duration > 0 else None,
    )
