"""Helpers for unit tests that answer Trakt and TMDB with `responses` and JSON fixtures."""

import contextlib
import json
import re
from pathlib import Path

import requests
import responses
import time_machine

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAKT = "https://api.trakt.tv"
TMDB = "https://api.themoviedb.org/3"
WATCHING_URL = f"{TRAKT}/users/sean/watching"


@contextlib.contextmanager
def at(moment):
    """Time stands at `moment`; on the way out the background refreshes started meanwhile
    (profile.cache) have ended, at that same moment."""
    from profile.live.cache import wait_for_refreshes

    with time_machine.travel(moment, tick=False):
        yield
        assert wait_for_refreshes(timeout=30), "a background refresh did not end"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def watching(name: str = "trakt_watching_movie.json", **changes) -> dict:
    """A watching body from a fixture, with top-level keys replaced."""
    return fixture(name) | changes


def add_tmdb(mock: responses.RequestsMock) -> None:
    """TMDB answers every images call with the official examples."""
    mock.get(re.compile(rf"{TMDB}/movie/\d+/images"), json=fixture("tmdb_movie_images.json"))
    mock.get(re.compile(rf"{TMDB}/tv/\d+/images"), json=fixture("tmdb_tv_images.json"))
    mock.get(
        re.compile(rf"{TMDB}/tv/\d+/season/\d+/episode/\d+/images"),
        json=fixture("tmdb_episode_images.json"),
    )


# Every way Trakt can fail one call, as (`responses` reply, our HTTP status, our error code).
TRAKT_FAILURES = [
    ({"status": 401, "headers": {"X-Private-User": "true"}}, 502, "private_profile"),
    ({"status": 401}, 502, "unauthorized"),
    (
        {"status": 403, "body": "<html>Forbidden</html>", "content_type": "text/html"},
        502,
        "forbidden",
    ),
    ({"status": 404}, 502, "not_found"),
    ({"status": 420, "headers": {"X-Upgrade-URL": "https://trakt.tv/vip"}}, 502, "forbidden"),
    ({"status": 423, "headers": {"X-Account-Locked": "true"}}, 502, "account_locked"),
    ({"status": 426}, 502, "forbidden"),
    ({"status": 429, "headers": {"Retry-After": "10"}}, 503, "rate_limited"),
    ({"status": 500}, 502, "unavailable"),
    ({"status": 502}, 502, "unavailable"),
    ({"status": 520}, 502, "unavailable"),
    ({"body": requests.ConnectTimeout("slow")}, 504, "timeout"),
    ({"body": requests.ReadTimeout("slow")}, 504, "timeout"),
    ({"body": requests.ConnectionError("refused")}, 502, "unavailable"),
    ({"body": "{not json"}, 502, "bad_response"),
    ({"body": "<html>maintenance</html>", "content_type": "text/html"}, 502, "bad_response"),
    ({"json": {"type": "movie", "movie": 5}}, 502, "bad_response"),
    ({"json": {"type": "movie"}}, 502, "bad_response"),
    ({"json": [1, 2]}, 502, "bad_response"),
    (
        {"json": {**fixture("trakt_watching_movie.json"), "started_at": "yesterday"}},
        502,
        "bad_response",
    ),
    (
        {"json": {**fixture("trakt_watching_movie.json"), "type": "podcast"}},
        502,
        "bad_response",
    ),
    ({"status": 200, "body": ""}, 502, "bad_response"),
    ({"status": 301, "headers": {"Location": "https://example.com/"}}, 502, "bad_response"),
]
