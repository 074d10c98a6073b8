"""The API's query parameters, checked: a bad one is a 400 that names it."""

from __future__ import annotations

import re
from datetime import date

from django.http import JsonResponse

from profile.api.answers import no_cache
from profile.mirror.diary import Filters, Key
from profile.mirror.titles import SLUG


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
    raw = options.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a date like 2025-01-31, not {_shown(raw)}."
        ) from None


def text(options, name: str, pattern: str, what: str) -> str | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not re.fullmatch(pattern, raw):
        raise BadParameter(name, f"{name} must be {what}, not {_shown(raw)}.")
    return raw


def month(options, name: str) -> date | None:
    raw = text(options, name, r"[0-9]{4}-[0-9]{2}", "a month like 2025-01")
    if raw is None:
        return None
    try:
        first = date.fromisoformat(raw + "-01")
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a month like 2025-01, not {_shown(raw)}."
        ) from None
    return _in_years(name, first, raw)


def _in_years(name: str, value: date, raw: str) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise BadParameter(
            name, f"{name} must be in the years {FIRST_YEAR} to {LAST_YEAR}, not {_shown(raw)}."
        )
    return value


FIRST_YEAR, LAST_YEAR = 1900, 2200


def diary_filters(options) -> Filters:
    """The diary's filters (/history and /api/history), each checked: a bad one is a 400
    that names it."""
    found_day = day(options, "day")
    return Filters(
        type=choice(options, "type", ("movie", "episode")),
        year=whole(options, "year", None, FIRST_YEAR, LAST_YEAR),
        month=month(options, "month"),
        day=_in_years("day", found_day, str(found_day)) if found_day else None,
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
