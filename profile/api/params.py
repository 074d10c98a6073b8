"""The API's query parameters, checked: a bad one is a 400 that names it."""

from __future__ import annotations

import re
from datetime import date

from django.http import JsonResponse

from profile.api.answers import no_cache
from profile.mirror.diary import Filters, Key
from profile.mirror.review import FIRST_YEAR, LAST_YEAR
from profile.mirror.titles import SLUG

# The days a date parameter may name: the calendar the mirror can hold (Trakt's times are
# checked into 1900..2200 at the boundary). Python's own calendar ends at 0001 and 9999, where
# a day more or less is an OverflowError, not an answer.
FIRST_DAY = date(FIRST_YEAR, 1, 1)
LAST_DAY = date(LAST_YEAR, 12, 31)


class BadParameter(Exception):
    """A query parameter that is not what the API takes: a 400 that names it."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message

    def answer(self) -> JsonResponse:
        body = {"error": {"code": "bad_request", "message": self.message}}
        return no_cache(JsonResponse(body, status=400))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def whole(options, name: str, default: int, low: int, high: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not low <= int(raw) <= high:
        raise BadParameter(
            name, f"{name} must be a whole number from {low:,} to {high:,}, not {_shown(raw)}."
        )
    return int(raw)


def choice(options, name: str, choices: tuple[str, ...]) -> str | None:
    raw = options.get(name)
    if raw is None:
        return None
    if raw not in choices:
        allowed = " or ".join(choices)
        raise BadParameter(name, f"{name} must be {allowed}, not {_shown(raw)}.")
    return raw


def day(options, name: str) -> date | None:
    """A date parameter, YYYY-MM-DD, from FIRST_DAY to LAST_DAY."""
    raw = options.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a date like 2025-01-31, not {_shown(raw)}."
        ) from None
    return _in_calendar(name, value, raw)


def text(options, name: str, pattern: str, what: str) -> str | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not re.fullmatch(pattern, raw):
        raise BadParameter(name, f"{name} must be {what}, not {_shown(raw)}.")
    return raw


def month(options, name: str) -> date | None:
    """A month parameter, YYYY-MM (its first day), within the calendar."""
    raw = text(options, name, r"[0-9]{4}-[0-9]{2}", "a month like 2025-01")
    if raw is None:
        return None
    try:
        first = date.fromisoformat(raw + "-01")
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a month like 2025-01, not {_shown(raw)}."
        ) from None
    return _in_calendar(name, first, raw)


def _in_calendar(name: str, value: date, raw: str) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadParameter(
            name,
            f"{name} must be a date from {FIRST_DAY} to {LAST_DAY}, not {_shown(raw)}.",
        )
    return value


def within_calendar(value: date) -> date:
    """A day worked out from a parameter (a year after `from`), kept within the calendar."""
    return min(max(value, FIRST_DAY), LAST_DAY)


def diary_filters(options) -> Filters:
    """The diary's filters (/history and /api/history), each checked: a bad one is a 400
    that names it."""
    return Filters(
        type=choice(options, "type", ("movie", "episode")),
        year=whole(options, "year", None, FIRST_YEAR, LAST_YEAR),
        month=month(options, "month"),
        day=day(options, "day"),
        hour=whole(options, "hour", None, 0, 23),
        weekday=whole(options, "weekday", None, 1, 7),
        genre=text(options, "genre", r"[a-z0-9][a-z0-9-]{0,63}", "a genre's slug like drama"),
        show=text(options, "show", SLUG.pattern, "a show's slug"),
        movie=text(options, "movie", SLUG.pattern, "a movie's slug"),
        rating=whole(options, "rating", None, 1, 10),
    )


def cursor(options, name: str = "cursor") -> Key | None:
    raw = options.get(name)
    if raw is None:
        return None
    try:
        return Key.parse(raw)
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a next_cursor of an earlier answer, not {_shown(raw)}."
        ) from None
