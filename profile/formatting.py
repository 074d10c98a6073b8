"""How numbers, durations and moments read on the page, the card and the page's live parts.

These are the only rules: the page's script (static/js/profile.js) swaps in fragments rendered
with them (/live) and formats nothing itself but times of day, which it puts in the visitor's
own zone and locale (these are US English in TIME_ZONE, the site's language).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from django.utils import timezone
from django.utils.timesince import timesince


def grouped(number: int) -> str:
    """14800 -> "14,800"."""
    return f"{number:,}"


def counted(number: int, noun: str, plural: str = "") -> str:
    """A count with its noun: "1 play", "14,800 plays" (`plural` where adding "s" is wrong)."""
    return f"{grouped(number)} {noun if number == 1 else plural or noun + 's'}"


def watch_time(minutes: int) -> str:
    """A total watch time: "45 min", "5 h 12 min", then whole days and hours ("118 d 22 h")."""
    minutes = max(0, int(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{grouped(days)} d {hours} h" if hours else f"{grouped(days)} d"


def time_left(seconds: float) -> str:
    """ "45 min left", "1 h left", "1 h 20 min left": whole minutes rounded up, so the last
    seconds still say "1 min left". The page and the card both read it so."""
    minutes = math.ceil(max(0, seconds) / 60)
    if minutes < 60:
        return f"{minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min left" if minutes else f"{hours} h left"


def paused_for(seconds: float) -> str:
    """A paused play's label: "Paused", then "Paused for 3 min" (whole minutes, as the page
    refreshes them)."""
    minutes = int(max(0, seconds) // 60)
    return f"Paused for {watch_time(minutes)}" if minutes else "Paused"


# Where a play is reported from, as a reader names it.
SOURCE_NAMES = {"trakt": "Trakt", "plex": "Plex", "jellyfin": "Jellyfin", "emby": "Emby"}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source.capitalize())


def joined(names: list[str]) -> str:
    """ "@sam", "@sam and @alex", "@sam, @alex and @kim"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def time_of_day(moment: datetime) -> str:
    """ "1:33 AM", "12:00 PM": the hour without a leading zero, as US English reads it."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def local_clock(moment: datetime) -> str:
    """The time of day in TIME_ZONE (for visitors without JavaScript): "9:07 PM"."""
    return time_of_day(timezone.localtime(moment))


def local_date(moment: datetime) -> date:
    """The owner's day (TIME_ZONE) at `moment`."""
    return timezone.localtime(moment).date()


def hours(minutes: int) -> str:
    """A year's time in hours: "412 h", "45 min" under an hour."""
    if minutes < 60:
        return f"{max(0, minutes)} min"
    return f"{grouped(round(minutes / 60))} h"


def month_year(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%B %Y")


def ago(moment: datetime, now: datetime | None = None) -> str:
    """ "3 hours ago"; "just now" under a minute."""
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


def initials(name: str) -> str:
    """Up to two capital letters for an avatar stand-in: "Alex Rivera" -> "AR"."""
    letters = [word[0] for word in name.split() if word[:1].isalnum()]
    return "".join(letters[:1] + letters[1:][-1:]).upper() or "?"


# --- Titles -------------------------------------------------------------------------------------

UNTITLED = "Untitled"  # what a title Trakt gave without a name reads as


def episode_code(season: int, number: int) -> str:
    return f"S{season}E{number}"


def episode_subtitle(season: int, number: int, title: str | None) -> str:
    """The episode line: "S1E2 - Title", or only the code when it has no title."""
    code = episode_code(season, number)
    return f"{code} - {title}" if title else code


def season_name(number: int) -> str:
    """ "Season 2"; season 0 is Trakt's specials."""
    return "Specials" if number == 0 else f"Season {number}"


def community(rating: float | None) -> str:
    """Trakt's community rating as the pages show it: "6.2" (one decimal)."""
    return "" if rating is None else f"{rating:.1f}"


def ratings_line(name: str, own: int | None, others: float | None) -> str:
    """ "Alex rated it 9 · community 6.2": the owner's rating beside the community's, for a
    visitor (either may be missing)."""
    parts = []
    if own is not None:
        parts.append(f"{name} rated it {own}")
    if others is not None:
        parts.append(f"community {community(others)}")
    return " · ".join(parts)


# Trakt's comments mark a spoiler inside a text with [spoiler]...[/spoiler].
_SPOILER = re.compile(r"\[spoiler\](.*?)\[/spoiler\]", re.I | re.S)


def spoiler_parts(text: str) -> list[tuple[bool, str]]:
    """A comment's text in pieces, each (whether it is a spoiler, its text): the pages fold
    the spoilers away (a <details>), whatever the comment as a whole says."""
    parts: list[tuple[bool, str]] = []
    at = 0
    for match in _SPOILER.finditer(text):
        if match.start() > at:
            parts.append((False, text[at : match.start()]))
        if match[1].strip():
            parts.append((True, match[1]))
        at = match.end()
    if at < len(text):
        parts.append((False, text[at:]))
    return [(spoiler, piece) for spoiler, piece in parts if piece.strip()]
