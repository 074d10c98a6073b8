"""Built-in sample data for DEMO_MODE, answered at the HTTP layer of `profile.client`.

It replies with Trakt- and TMDB-shaped bodies, so parsing, caching, views and templates
run the same code as with real keys. The data is time-relative: when the site starts, a
film started 37 minutes ago and moves on its own; after it, a short idle spell, then an
episode, then idle again, round and round. The titles are made up, and the artwork is
our own, under static/demo/.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

from profile.client.http import Reply

EPOCH_KEY = "nowwatching:v1:demo:epoch"
MINUTE = 60


@dataclass(frozen=True)
class Slot:
    kind: str  # "movie", "episode" or "idle"
    minutes: int


# One turn of the demo timeline; it starts 37 minutes into the film.
TIMELINE = (Slot("movie", 118), Slot("idle", 8), Slot("episode", 52), Slot("idle", 8))
STARTED_MINUTES_AGO = 37

MOVIE = {
    "title": "The Quiet Orbit",
    "year": 2024,
    "ids": {"trakt": 900001, "slug": "the-quiet-orbit-2024", "imdb": None, "tmdb": 900001},
}
SHOW = {
    "title": "Saltmarsh",
    "year": 2022,
    "ids": {"trakt": 900002, "slug": "saltmarsh", "tvdb": None, "imdb": None, "tmdb": 900002},
}
EPISODE = {
    "season": 2,
    "number": 5,
    "title": "The Night Ferry",
    "ids": {"trakt": 900003, "tvdb": None, "imdb": None, "tmdb": 900003},
}

PROFILE = {
    "username": "demo",
    "private": False,
    "name": "Alex Rivera",
    "vip": True,
    "vip_ep": False,
    "ids": {"slug": "demo"},
    "joined_at": "2016-03-12T18:20:00.000Z",
    "location": "Lisbon",
    "about": "Films on Fridays, far too many series the rest of the week.",
    "images": {"avatar": {"full": "/static/demo/avatar.svg"}},
}

STATS = {
    "movies": {"plays": 612, "watched": 548, "minutes": 65880, "collected": 201, "ratings": 433},
    "shows": {"watched": 143, "collected": 12, "ratings": 97},
    "seasons": {"ratings": 18},
    "episodes": {"plays": 8120, "watched": 7954, "minutes": 362500, "ratings": 310},
    "network": {"friends": 20, "followers": 87, "following": 64},
    "ratings": {"total": 858, "distribution": {"7": 200, "8": 320, "9": 210, "10": 128}},
}


def _image(path: str, width: int = 1920) -> dict:
    return {
        "file_path": path,
        "width": width,
        "height": width * 9 // 16,
        "iso_639_1": None,
        "vote_average": 6.0,
        "vote_count": 10,
    }


IMAGES = {
    "/movie/900001/images": {
        "backdrops": [_image("/quiet-orbit-backdrop.svg")],
        "posters": [_image("/quiet-orbit-poster.svg", 1000)],
    },
    "/tv/900002/images": {
        "backdrops": [_image("/saltmarsh-backdrop.svg")],
        "posters": [_image("/saltmarsh-poster.svg", 1000)],
    },
    "/tv/900002/season/2/episode/5/images": {"stills": [_image("/saltmarsh-s2e5-still.svg")]},
}

_USER_PATH = re.compile(r"/users/[^/]+(?P<rest>/watching|/stats|/history)?")
# An image address below TMDB_IMAGE_URL: /{size}/{file name}, like /w300/x.svg.
_IMAGE_PATH = re.compile(r"/(?P<size>w\d+|original)/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


def reply(service: str, method: str, path: str, params: dict, json_body=None) -> Reply:
    """What Trakt or TMDB would answer `method path`; nothing here is ever sent out."""
    if service == "tmdb":
        if image := _IMAGE_PATH.fullmatch(path):
            return _image_file(image["size"], image["name"])
        body = IMAGES.get(path)
        return _json(body) if body is not None else Reply(404, {}, b"")
    match = _USER_PATH.fullmatch(path)
    if match is None:
        return Reply(404, {}, b"")
    rest = match["rest"]
    if rest == "/watching":
        playing = _playing_now(time.time())
        return _json(playing) if playing else Reply(204)
    if rest == "/stats":
        return _json(STATS)
    if rest == "/history":
        return _json([_last_watched(time.time())])
    return _json(PROFILE)


def _image_file(size: str, name: str) -> Reply:
    """Our own demo artwork from static/demo, as TMDB's image host would send it."""
    file = settings.BASE_DIR / "static" / "demo" / size / name
    content_type = mimetypes.guess_type(name)[0]
    if not file.is_file() or content_type is None:
        return Reply(404, {}, b"")
    return Reply(200, {"Content-Type": content_type}, file.read_bytes())


def _json(body) -> Reply:
    return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _timeline_start() -> float:
    """When the current run's timeline began; shared by workers that share a cache."""
    cache.add(EPOCH_KEY, time.time() - STARTED_MINUTES_AGO * MINUTE, timeout=None)
    return cache.get(EPOCH_KEY) or time.time() - STARTED_MINUTES_AGO * MINUTE


def _slots(now: float):
    """The slots of the turn around `now`, each with its start and end times."""
    turn = sum(slot.minutes for slot in TIMELINE) * MINUTE
    start = _timeline_start()
    turn_start = start + (now - start) // turn * turn
    for offset in (-turn, 0):
        at = turn_start + offset
        for slot in TIMELINE:
            yield slot, at, at + slot.minutes * MINUTE
            at += slot.minutes * MINUTE


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _media(kind: str) -> dict:
    if kind == "movie":
        return {"type": "movie", "movie": MOVIE}
    return {"type": "episode", "episode": EPISODE, "show": SHOW}


def _playing_now(now: float) -> dict | None:
    for slot, start, end in _slots(now):
        if start <= now < end and slot.kind != "idle":
            return {
                "started_at": _iso(start),
                "expires_at": _iso(end),
                "action": "scrobble",
                **_media(slot.kind),
            }
    return None


def _last_watched(now: float) -> dict:
    ended = [(end, slot) for slot, _, end in _slots(now) if slot.kind != "idle" and end <= now]
    end, slot = max(ended, key=lambda pair: pair[0])
    return {"id": int(end), "watched_at": _iso(end), "action": "scrobble", **_media(slot.kind)}
