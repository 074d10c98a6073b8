"""DEMO_MODE: built-in, time-relative data through the same code as real upstream answers."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from profile import demo
from profile.mirror import sync
from profile.mirror.posters import fill_posters


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


# --- The demo history ---------------------------------------------------------------------------


def test_a_demo_day_always_has_the_same_plays():
    from datetime import date

    day = date(2025, 3, 8)

    assert demo.day_plays(day) == demo.day_plays(day)
    assert demo.day_plays(day) != demo.day_plays(date(2025, 3, 9))


@pytest.mark.django_db
def test_the_demo_history_is_three_years_mirrored_by_the_sync_without_the_network(
    demo_mode, monkeypatch
):
    import requests

    from profile.mirror import sync
    from profile.models import Play, Rating, Title

    monkeypatch.setattr(requests.Session, "send", lambda *a, **kw: pytest.fail("network"))

    outcome = sync.sync()

    assert outcome.kind == "backfill" and outcome.plays > 1500
    first, last = Play.objects.order_by("watched_at")[:: Play.objects.count() - 1]
    assert (last.watched_at - first.watched_at).days >= 3 * 365 - 2
    assert Rating.objects.count() > 20
    assert Title.objects.filter(kind="show", tmdb_id__isnull=True).exists()
    assert Title.objects.filter(title="Café Lumière à Nîmes").exists()
    # A second run finds nothing new, in one call.
    again = sync.sync()
    assert (again.kind, again.new, again.calls) == ("incremental", 0, 1)


@pytest.mark.django_db
def test_the_demo_film_joins_the_history_when_it_ends(demo_mode, settings):
    from profile.models import Play

    film = demo.MOVIE["title"]
    playing = demo._playing_now(time.time())  # fixes the timeline: the film, 37 min in
    sync.sync()
    before = Play.objects.count()

    # The film ends 81 minutes later.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=85)):
        outcome = sync.sync()
        newest = Play.objects.order_by("-watched_at").first()

    assert outcome.new == 1 and Play.objects.count() == before + 1
    assert newest.title.title == film
    assert newest.watched_at == datetime.fromisoformat(playing["expires_at"])


@pytest.mark.django_db
def test_the_demo_page_shows_every_chart(client, demo_mode):
    sync.sync()
    fill_posters(pause=0)

    html = client.get("/").content.decode()

    for section in ("recent", "activity", "when", "taste", "years"):
        assert f'id="{section}"' in html, section
    assert "ratings against Trakt's community" in html
    assert "/static/demo/w342/demo-poster-" in html
    assert "being fetched" not in html
