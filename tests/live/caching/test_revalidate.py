"""Stale while revalidate: once an answer is kept, no visitor waits on Trakt.

After the reuse window the kept answer is served at once while one refresh (per answer,
across threads and processes) runs in the background; only a cold cache waits.
"""

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.core.cache import cache, caches
from django.test import Client

from profile.client import UpstreamError
from profile.live import answers as live_answers
from profile.live import cache as reuse
from profile.live.cache import wait_for_refreshes
from tests.api.test_watching import MOVIE_HALFWAY
from tests.servers import gunicorn
from tests.upstream import WATCHING_URL, add_tmdb, at, fixture

CALLERS = 60
MOVIE_ENDS = MOVIE_HALFWAY + timedelta(minutes=56)


def later(seconds: float):
    """The clock `seconds` ahead of now, standing still there."""
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


def title_of(response) -> str:
    return response.json()["content"]["title"]


def test_a_warm_request_is_answered_while_trakt_is_still_being_asked(client, fake):
    first = client.get("/api/watching")
    fake.set(watching_delay=3, title="Super 9")  # Trakt is slow now, and has news

    with later(16):
        served = client.get("/api/watching")
        still_asking = not wait_for_refreshes(timeout=0)
        assert wait_for_refreshes(timeout=30)
        after = client.get("/api/watching")

    assert still_asking  # the answer came while Trakt had not answered yet
    assert title_of(first) == title_of(served) == "Super 8"
    assert "stale" not in served.json()  # Trakt is slow, not failing
    assert title_of(after) == "Super 9"
    assert fake.calls("trakt:") == 2


def test_callers_after_the_window_share_one_refresh(fake):
    Client().get("/api/watching")
    fake.set(watching_delay=0.5)

    with later(16):

        def ask(_):
            return Client().get("/api/watching")

        with ThreadPoolExecutor(CALLERS) as pool:
            answers = list(pool.map(ask, range(CALLERS)))
        assert wait_for_refreshes(timeout=30)

    assert {(a.status_code, title_of(a)) for a in answers} == {(200, "Super 8")}
    assert fake.calls("trakt:") == 2


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_gunicorn_workers_sharing_redis_refresh_once_and_nobody_waits(fake, redis_url):
    env = fake.env() | {"CACHE_URL": redis_url, "WATCHING_CACHE_SECONDS": "1"}
    with gunicorn(env, workers=4) as site:
        url = site.url + "/api/watching"
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fetch, [url] * 16))  # warm: every worker has seen the answer
        # Trakt now takes 2 s and has news; the window passes.
        fake.set(watching_delay=2, title="Super 9")
        time.sleep(1.1)  # waiting out the reuse window, not for an event
        with ThreadPoolExecutor(CALLERS) as pool:
            answers = list(pool.map(fetch, [url] * CALLERS))
        deadline = time.monotonic() + 10
        while fetch(url)["content"]["title"] != "Super 9":
            assert time.monotonic() < deadline, "the refresh never landed"
            time.sleep(0.1)
        log = site.log_text()

    # Every caller got the kept answer: none waited for the 2 s Trakt took.
    assert {a["content"]["title"] for a in answers} == {"Super 8"}
    assert not any(a.get("stale") for a in answers)
    assert fake.calls("trakt:") == 2  # the first answer, and one refresh for all 4 workers
    assert "Traceback" not in log


def test_a_movie_that_has_ended_is_not_served_while_refreshing(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    with at(MOVIE_HALFWAY):
        client.get("/api/watching")
    mock.replace(responses.GET, WATCHING_URL, status=204)

    with at(MOVIE_ENDS + timedelta(seconds=1)):
        answer = client.get("/api/watching")

    assert answer.json() == {"isWatching": False}  # waited for Trakt: it knew


def test_an_idle_answer_is_kept_past_its_window_to_serve_while_refreshing(client, mock):
    mock.get(WATCHING_URL, status=204)
    with at(MOVIE_HALFWAY):
        client.get("/api/watching")
    mock.replace(responses.GET, WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    # Long after the 15 s window (within REVALIDATE_SECONDS) the idle answer is still kept.
    with at(MOVIE_HALFWAY + timedelta(minutes=30)):
        served = client.get("/api/watching")
    with at(MOVIE_HALFWAY + timedelta(minutes=30)):
        refreshed = client.get("/api/watching")

    assert served.json() == {"isWatching": False}
    assert title_of(refreshed) == "Super 8"


def test_this_process_copy_is_served_when_the_shared_cache_lost_its_own(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    with at(MOVIE_HALFWAY):
        client.get("/api/watching")
        cache.delete(reuse.KEY + "watching")  # evicted, or a Redis that restarted empty
        assert caches["local"].get(reuse.KEY + "watching") is not None

    with at(MOVIE_HALFWAY + timedelta(seconds=20)):
        answer = client.get("/api/watching")

    assert title_of(answer) == "Super 8" and "stale" not in answer.json()
    assert sum(1 for call in mock.calls if call.request.url == WATCHING_URL) == 2


def test_a_failed_refresh_leaves_the_kept_answer_served_marked_stale(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    with at(MOVIE_HALFWAY):
        client.get("/api/watching")
    mock.replace(responses.GET, WATCHING_URL, status=503)

    with at(MOVIE_HALFWAY + timedelta(seconds=30)):
        client.get("/api/watching")  # starts the refresh, which fails
    with at(MOVIE_HALFWAY + timedelta(seconds=31)):
        stale = client.get("/api/watching")

    assert stale.status_code == 200 and stale.json()["stale"] is True
    assert stale["Age"] == "31"


def test_profile_and_stats_are_refreshed_in_the_background_too(mock):
    from tests.upstream import TRAKT

    mock.get(f"{TRAKT}/users/sean", json=fixture("trakt_user_profile_extended_full.json"))
    with at(MOVIE_HALFWAY):
        first = live_answers.get_profile()
    changed = fixture("trakt_user_profile_extended_full.json") | {"name": "Sean R."}
    mock.replace(responses.GET, f"{TRAKT}/users/sean", json=changed)

    with at(MOVIE_HALFWAY + timedelta(minutes=20)):
        served = live_answers.get_profile()
    with at(MOVIE_HALFWAY + timedelta(minutes=20)):
        refreshed = live_answers.get_profile()

    assert served.value == first.value and not served.stale
    assert refreshed.value.name == "Sean R."


def test_an_answer_another_process_forgot_is_not_served_from_this_ones_copy():
    """trakt_logout (a process of its own) forgets the signed-in profile: a web process that
    still holds its own copy must not serve it once that copy is no longer fresh, neither
    while refreshing nor marked stale when the refresh fails."""
    answers = iter(["private profile"])

    def fetch():
        try:
            return next(answers)
        except StopIteration:
            raise UpstreamError("private_profile", "signed out") from None

    def ask():
        return reuse.through_cache("profile", fetch, fresh_for=15, keep_for=lambda _: 3600)

    assert ask().value == "private profile"
    mine = caches["local"].get(reuse.KEY + "profile")
    reuse.forget("profile")  # as another process does it: this process's copy stays
    caches["local"].set(reuse.KEY + "profile", mine)

    with later(20):
        with pytest.raises(UpstreamError):
            ask()
