"""Helpers for unit tests that answer Trakt and TMDB with `responses` and JSON fixtures."""

import json
import re
from pathlib import Path

import responses

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAKT = "https://api.trakt.tv"
TMDB = "https://api.themoviedb.org/3"
WATCHING_URL = f"{TRAKT}/users/sean/watching"


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
