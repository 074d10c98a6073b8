"""Hostile bodies: valid JSON whose fields are odd (dates at the calendar's ends, lone
surrogates, huge numbers, ...), applied to every Trakt and TMDB body (`hostile`)."""

from __future__ import annotations

import copy
import gzip
from functools import cache

BIG = 2**53  # the largest id or count the boundary accepts


def _times(body: dict, kind: str, started, expires, joined=None, watched=None) -> None:
    if kind == "watching":
        body["started_at"], body["expires_at"] = started, expires
    elif kind == "history":
        body["watched_at"] = watched if watched is not None else started
    elif kind == "profile":
        body["joined_at"] = joined if joined is not None else started


def _texts(body: dict, kind: str, value) -> None:
    for media in ("movie", "show", "episode"):
        if isinstance(body.get(media), dict):
            body[media]["title"] = value
    if kind == "profile":
        body["name"] = body["location"] = body["about"] = value
        body["images"] = {"avatar": {"full": value}}


def hostile_body(case: str, kind: str, body):
    """`body` (of `kind`) as the HOSTILE `case` has it; a new object."""
    body = copy.deepcopy(body)
    if kind == "tmdb":
        return _hostile_tmdb(case, body)
    if kind == "stats":
        return _hostile_stats(case, body)
    if case == "calendar_ends":  # the first and last moments the boundary accepts
        _times(body, kind, "1900-01-01T00:00:00Z", "2199-12-31T23:59:59.999999Z",
               joined="1900-01-01T00:00:00+00:00", watched="2199-12-31T23:59:59Z")  # fmt: skip
    elif case == "beyond_calendar":  # valid ISO dates the boundary refuses (overflow in UTC)
        _times(body, kind, "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59",
               joined="9999-12-31T23:59:59-23:59")  # fmt: skip
    elif case == "zoneless":
        _times(body, kind, "2024-01-01T10:00:00", "2024-01-01T12:00:00")
    elif case == "not_dates":
        _times(body, kind, "yesterday", 1700000000, joined="2024-02-30T00:00:00Z")
    elif case == "odd_date_forms":  # ISO 8601, but not the RFC 3339 a browser parses
        _times(body, kind, "20240101T100000Z", "2024-01-01 12:00:00+00:00",
               joined="2024-W01-1T00:00:00Z")  # fmt: skip
    elif case == "lone_surrogates":
        _texts(body, kind, "\ud800 lone \udfff")
        body["action"] = "\udbff"
    elif case == "control_chars":
        _texts(body, kind, "\x00\x07\x1b[2J\u202eevil\ufeff")
    elif case == "empty_strings":
        _texts(body, kind, "")
        for media in ("movie", "show", "episode"):
            if isinstance(body.get(media), dict):
                body[media]["ids"] |= {"slug": "", "imdb": ""}
        if kind == "profile":
            body["username"] = ""
    elif case == "nulls":
        _texts(body, kind, None)
        for media in ("movie", "show", "episode"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = None
                body[media]["ids"] |= {"slug": None, "imdb": None, "tmdb": None, "tvdb": None}
        if kind == "profile":
            body |= {"vip": None, "vip_ep": None, "joined_at": None, "images": None}
    elif case == "huge_numbers":  # the largest values accepted, and beyond in optional fields
        for media in ("movie", "show"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = 2200
                body[media]["ids"] |= {"trakt": BIG, "tmdb": 2**64, "tvdb": -1}
        if isinstance(body.get("episode"), dict):
            body["episode"] |= {"season": 100_000, "number": 100_000}
            body["episode"]["ids"] |= {"trakt": BIG, "tmdb": BIG}
        if kind == "profile":
            body["ids"]["trakt"] = 10**30
    elif case == "long_strings":
        _texts(body, kind, "Ω" * 100_000)
    elif case == "wrong_types":
        _texts(body, kind, 42)
        for media in ("movie", "show"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = "1999"
                body[media]["ids"]["tmdb"] = "abc"
        if kind == "profile":
            body |= {"private": "maybe", "images": [1, 2]}
    else:
        raise ValueError(f"unknown hostile case {case!r}")
    return body


def _hostile_stats(case: str, body: dict) -> dict:
    counts = [section for section in body.values() if isinstance(section, dict)]
    if case == "huge_numbers":
        for section in counts:
            for name in section:
                if isinstance(section[name], int):
                    section[name] = BIG
        body["ratings"]["distribution"] = {str(n): BIG for n in range(1, 11)} | {"99": BIG}
    elif case == "nulls":
        body["seasons"] = None  # optional: dropped to its default
        body["ratings"] = {"total": 3, "distribution": {"1": 3, "\ud800": 1, "x" * 50: 2}}
    elif case in ("wrong_types", "lone_surrogates"):
        body["ratings"]["distribution"] = {"\ud800": 1, "10": "many"}
    return body


def _hostile_tmdb(case: str, body: dict) -> dict:
    images = [image for kind in ("backdrops", "posters", "stills") for image in body.get(kind, [])]
    for n, image in enumerate(images):
        if case == "huge_numbers":
            image |= {"width": 2**64, "height": BIG, "vote_average": 1e308, "vote_count": -1}
        elif case in ("nulls", "empty_strings"):
            image |= {"file_path": None if case == "nulls" else "", "iso_639_1": None}
        elif case == "wrong_types":
            image |= {"file_path": ["x"], "vote_average": "high"}
        elif case in ("lone_surrogates", "control_chars"):
            image["file_path"] = "/\ud800.jpg" if n % 2 else "/../../etc/passwd"
    return body


HOSTILE = (
    "calendar_ends",
    "beyond_calendar",
    "zoneless",
    "not_dates",
    "odd_date_forms",
    "lone_surrogates",
    "control_chars",
    "empty_strings",
    "nulls",
    "huge_numbers",
    "long_strings",
    "wrong_types",
)


@cache
def gzip_bomb() -> bytes:
    """16 KB of gzip that inflates to 16 MB, 16 times the client's cap (made once, in well
    under a second even on a busy machine: a bigger bomb took longer to make than the client
    waits, and the test saw a timeout)."""
    return gzip.compress(b"{" + b" " * 16_000_000, compresslevel=9)
