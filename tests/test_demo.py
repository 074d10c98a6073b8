"""DEMO_MODE: built-in, time-relative data through the same code as real upstream answers."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from profile import demo


@pytest.fixture
def demo_mode(settings):
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = ""
    settings.TMDB_API_KEY = ""
    return settings


def test_a_fresh_demo_is_a_film_that_started_37_minutes_ago(client, demo_mode):
    body = client.get("/api/watching").json()

    assert body["demo"] is True
    assert body["isWatching"] is True
    content = body["content"]
    assert content["type"] == "movie"
    started = datetime.fromisoformat(content["progress"]["started_at"])
    assert timedelta(minutes=36) < datetime.now(UTC) - started < timedelta(minutes=38)
    assert content["images"]["backdrop"] == "/static/demo/w1280/quiet-orbit-backdrop.svg"


def test_the_demo_moves_on_its_own(client, demo_mode, settings):
    settings.WATCHING_CACHE_SECONDS = 0
    first = client.get("/api/watching").json()["content"]["progress"]["percentage"]

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=20)):
        later = client.get("/api/watching").json()["content"]["progress"]["percentage"]

    assert later > first


@pytest.mark.parametrize(
    ("minutes_later", "expected"),
    [(0, "movie"), (85, None), (95, "episode"), (145, None), (190, "movie")],
)
def test_the_demo_cycles_through_a_film_idle_an_episode_and_idle(
    client, demo_mode, settings, minutes_later, expected
):
    settings.WATCHING_CACHE_SECONDS = 0
    client.get("/api/watching")  # fixes the timeline's start

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=minutes_later)):
        body = client.get("/api/watching").json()

    assert body["demo"] is True
    if expected is None:
        assert body["isWatching"] is False
    else:
        assert body["content"]["type"] == expected


def test_the_demo_episode_has_a_still_and_episode_links(client, demo_mode, settings):
    settings.WATCHING_CACHE_SECONDS = 0
    client.get("/api/watching")

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=95)):
        content = client.get("/api/watching").json()["content"]

    assert content["subtitle"] == "S2E5 - The Night Ferry"
    assert content["images"]["still"] == "/static/demo/w300/saltmarsh-s2e5-still.svg"
    assert content["links"]["trakt"] == "https://trakt.tv/shows/saltmarsh/seasons/2/episodes/5"


def test_demo_images_exist_as_static_files():
    from django.conf import settings

    static = settings.BASE_DIR / "static"
    for body in demo.IMAGES.values():
        for kind, size in (("backdrops", "w1280"), ("posters", "w342"), ("stills", "w300")):
            for image in body.get(kind, []):
                assert (static / "demo" / size / image["file_path"].lstrip("/")).is_file()


def test_demo_mode_makes_no_network_call(client, demo_mode, monkeypatch):
    import requests

    def refuse(*args, **kwargs):
        raise AssertionError("demo mode must not use the network")

    monkeypatch.setattr(requests.Session, "send", refuse)

    assert client.get("/api/watching").status_code == 200


def test_the_demo_page_links_nowhere_for_its_made_up_ids(client, demo_mode):
    html = client.get("/").content.decode()

    hrefs = re.findall(r'href="([^"]+)"', html)
    assert not [
        h
        for h in hrefs
        if re.search(r"trakt\.tv/(movies|shows|users)|themoviedb\.org/(movie|tv)", h)
    ]
    assert "these links go nowhere" in html
