"""Stale if error, the 429 block, the rate-limit warning, and a lock whose holder died."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import responses

from profile.client import TraktAuth, trakt
from profile.live import answers as live_answers
from profile.live import cache as reuse
from tests.api.test_watching import MOVIE_HALFWAY
from tests.servers import ROOT, gunicorn, site_env
from tests.upstream import WATCHING_URL, add_tmdb, at, fixture

MOVIE_ENDS = MOVIE_HALFWAY + timedelta(minutes=56)


def trakt_calls(mock) -> int:
    return sum(1 for call in mock.calls if call.request.url == WATCHING_URL)


def watching_at(client, moment):
    with at(moment):
        return client.get("/api/watching")


# --- Stale if error --------------------------------------------------------------------------


def test_when_trakt_fails_the_last_good_answer_is_served_marked_stale_with_its_age(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    fresh = watching_at(client, MOVIE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, status=500)

    # The first caller after the window is served the kept answer while it is refreshed (it
    # cannot know yet); the refresh fails, and from then on the answer is marked stale.
    unknowing = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=20))
    stale = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=20))

    assert "stale" not in unknowing.json()

    assert stale.status_code == 200
    body = stale.json()
    assert body["stale"] is True
    assert stale["Age"] == "20"
    assert body["content"]["title"] == fresh.json()["content"]["title"]
    # The percentage is still computed now, not frozen at the last good answer.
    assert body["content"]["progress"]["remaining_seconds"] == 56 * 60 - 20
    assert "stale" not in fresh.json() and not fresh.has_header("Age")


def test_a_stale_answer_is_not_served_after_its_expires_at(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    watching_at(client, MOVIE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, status=500)

    after_the_end = watching_at(client, MOVIE_ENDS + timedelta(seconds=1))

    assert after_the_end.status_code == 502
    assert after_the_end.json() == {
        "isWatching": False,
        "error": {"code": "unavailable", "message": "Trakt is unavailable right now (HTTP 500)."},
    }


def test_a_stale_answer_is_served_even_with_reuse_off(client, mock, settings):
    settings.WATCHING_CACHE_SECONDS = 0
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    watching_at(client, MOVIE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, status=503)

    stale = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=3))

    assert stale.json()["stale"] is True and stale["Age"] == "3"


def test_while_trakt_fails_it_is_asked_at_most_once_per_few_seconds(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    watching_at(client, MOVIE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, status=500)

    # The first request after the window starts the refresh that fails; the next ones, within
    # ERROR_SECONDS of the failure, are served stale without asking Trakt.
    assert "stale" not in watching_at(client, MOVIE_HALFWAY + timedelta(seconds=16)).json()
    for second in range(16, 21):
        assert watching_at(client, MOVIE_HALFWAY + timedelta(seconds=second)).json()["stale"]
    assert trakt_calls(mock) == 2

    mock.replace(responses.GET, WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    recovered = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=16 + reuse.ERROR_SECONDS))
    assert trakt_calls(mock) == 3
    assert "stale" not in recovered.json()


# --- Rate limits ---------------------------------------------------------------------------


def test_a_429_keeps_every_caller_away_from_trakt_until_retry_after(client, mock, settings):
    settings.WATCHING_CACHE_SECONDS = 0  # without the block, every request would ask Trakt
    mock.get(WATCHING_URL, status=429, headers={"Retry-After": "30"})

    first = watching_at(client, MOVIE_HALFWAY)
    later = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=20))

    assert (first.status_code, first["Retry-After"]) == (503, "30")
    assert (later.status_code, later["Retry-After"]) == (503, "10")
    assert later.json()["error"]["code"] == "rate_limited"
    assert trakt_calls(mock) == 1

    mock.replace(responses.GET, WATCHING_URL, status=204)
    assert watching_at(client, MOVIE_HALFWAY + timedelta(seconds=31)).status_code == 200
    assert trakt_calls(mock) == 2


def test_while_rate_limited_the_last_good_answer_is_served_stale(client, mock, settings):
    settings.WATCHING_CACHE_SECONDS = 0
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    watching_at(client, MOVIE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, status=429, headers={"Retry-After": "60"})

    answers = [watching_at(client, MOVIE_HALFWAY + timedelta(seconds=s)) for s in (1, 2, 3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json()["stale"] is True for a in answers)
    assert trakt_calls(mock) == 2


def test_a_429_blocks_trakt_for_every_gunicorn_worker_sharing_redis(fake, redis_url):
    fake.set(trakt_fault="429", retry_after=4)
    env = fake.env() | {"CACHE_URL": redis_url, "WATCHING_CACHE_SECONDS": "0"}
    with gunicorn(env, workers=4) as site:

        def fetch(_):
            try:
                with urllib.request.urlopen(site.url + "/api/watching", timeout=20) as response:
                    return response.status, response.headers.get("Retry-After")
            except urllib.error.HTTPError as error:
                return error.code, error.headers.get("Retry-After")

        assert fetch(0) == (503, "4")
        blocked_at = time.monotonic()  # the block started before this, when the 429 came
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(fetch, range(32)))
        still_blocked = time.monotonic() - blocked_at < 3.5
        fake.set(trakt_fault=None)
        time.sleep(max(0.0, 4.1 - (time.monotonic() - blocked_at)))
        after = fetch(0)

    assert still_blocked, "the machine was too slow to send 32 requests within the block"
    assert {status for status, _ in answers} == {503}
    assert {retry for _, retry in answers} <= {"1", "2", "3", "4"}
    assert after[0] == 200
    assert fake.calls("trakt:") == 2  # the 429 itself and the call after Retry-After


def test_trakt_running_low_on_calls_is_logged(mock, caplog):
    def limit(remaining):
        info = {"name": "AUTHED_API_GET_LIMIT", "period": 300, "limit": 1000}
        return {"X-Ratelimit": json.dumps(info | {"remaining": remaining})}

    mock.get(WATCHING_URL, status=204, headers=limit(900))
    with caplog.at_level(logging.WARNING, logger="profile.client"):
        trakt.watching(TraktAuth("key"), "sean")
    assert "rate limit" not in caplog.text

    mock.replace(responses.GET, WATCHING_URL, status=204, headers=limit(42))
    with caplog.at_level(logging.WARNING, logger="profile.client"):
        trakt.watching(TraktAuth("key"), "sean")
    assert "Trakt rate limit running low: 42 of 1000 calls left" in caplog.text


# --- A lock whose holder died --------------------------------------------------------------


def test_a_dead_lock_holder_costs_nothing_while_an_answer_is_kept(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    watching_at(client, MOVIE_HALFWAY)
    from django.core.cache import cache

    with at(MOVIE_HALFWAY + timedelta(seconds=20)):
        cache.add(reuse.KEY + "watching:lock", "a holder that died", reuse.LOCK_SECONDS)
        answer = client.get("/api/watching")

    # The kept answer is served at once; nobody else may refresh while the lock stands.
    assert answer.status_code == 200 and "stale" not in answer.json()
    assert trakt_calls(mock) == 1

    # Once the lock's timeout has passed, the next caller's refresh asks Trakt.
    watching_at(client, MOVIE_HALFWAY + timedelta(seconds=21 + reuse.LOCK_SECONDS))
    assert trakt_calls(mock) == 2


def test_a_dead_lock_holder_makes_waiters_of_a_cold_cache_give_up_in_bounded_time(
    client, mock, monkeypatch
):
    from django.core.cache import cache

    monkeypatch.setattr(reuse, "WAIT_SECONDS", 0.5)
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    with at(MOVIE_HALFWAY):
        cache.add(reuse.KEY + "watching:lock", "a holder that died", reuse.LOCK_SECONDS)
        started = time.monotonic()
        answer = client.get("/api/watching")
        waited = time.monotonic() - started

    assert answer.status_code == 504 and answer.json()["error"]["code"] == "timeout"
    assert reuse.WAIT_SECONDS <= waited < reuse.WAIT_SECONDS + 2
    assert trakt_calls(mock) == 0


def test_a_lock_holder_killed_mid_fetch_frees_the_lock_when_it_times_out(
    fake, redis_cache, redis_url, monkeypatch
):
    fake.set(watching_delay=30)  # the holder is stuck in its fetch when it is killed
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from profile.live import answers, cache; "
            "cache.LOCK_SECONDS = 2; answers.get_watching()",
        ],
        cwd=ROOT,
        env=site_env(
            fake.env() | {"CACHE_URL": redis_url, "DJANGO_SETTINGS_MODULE": "nowwatching.settings"}
        ),
    )
    try:
        deadline = time.monotonic() + 20
        while fake.calls("trakt:") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.calls("trakt:") == 1
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    fake.set(watching_delay=0)
    monkeypatch.setattr(reuse, "WAIT_SECONDS", 0.5)

    # Nothing kept to fall back on: a clear error after a bounded wait, and no Trakt call.
    waiting = live_answers.get_watching()
    assert waiting.error is not None and waiting.error.code == "timeout"
    assert waiting.http_status == 504
    assert fake.calls("trakt:") == 1

    deadline = time.monotonic() + 5
    while redis_cache.get(reuse.KEY + "watching:lock") is not None:
        assert time.monotonic() < deadline, "the dead holder's lock never timed out"
        time.sleep(0.1)
    answer = live_answers.get_watching()
    assert answer.error is None and answer.watching.title == "Super 8"
    assert fake.calls("trakt:") == 2
