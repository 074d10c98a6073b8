"""Single flight: however many callers find the watching answer missing or old, one asks Trakt."""

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.test import Client

from tests.servers import gunicorn

CALLERS = 60


def test_60_concurrent_requests_in_one_process_make_one_trakt_call(fake):
    fake.set(delay=0.3)  # every caller arrives while the first one's fetch is under way
    start = threading.Barrier(CALLERS)

    def request(_):
        start.wait(timeout=10)
        return Client().get("/api/watching")

    with ThreadPoolExecutor(CALLERS) as pool:
        responses = list(pool.map(request, range(CALLERS)))

    assert [r.status_code for r in responses] == [200] * CALLERS
    assert {r.json()["content"]["title"] for r in responses} == {"Super 8"}
    assert fake.calls("trakt:") == 1
    assert fake.calls("tmdb:") == 1


def fetch(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_60_concurrent_requests_to_4_gunicorn_workers_on_redis_make_one_trakt_call(fake, redis_url):
    fake.set(delay=0.3)
    with gunicorn(fake.env() | {"CACHE_URL": redis_url}, workers=4) as site:
        with ThreadPoolExecutor(CALLERS) as pool:
            answers = list(pool.map(fetch, [site.url + "/api/watching"] * CALLERS))
        workers_log = site.log_text()

    assert [status for status, _ in answers] == [200] * CALLERS
    assert {body["content"]["title"] for _, body in answers} == {"Super 8"}
    assert fake.calls("trakt:") == 1
    assert fake.calls("tmdb:") == 1
    assert "Traceback" not in workers_log


def test_an_episode_costs_one_trakt_call_and_one_call_per_tmdb_lookup(fake, redis_url):
    fake.set(watching="episode", runtime_minutes=45, delay=0.3)
    with gunicorn(fake.env() | {"CACHE_URL": redis_url}, workers=4) as site:
        with ThreadPoolExecutor(CALLERS) as pool:
            answers = list(pool.map(fetch, [site.url + "/api/watching"] * CALLERS))

    assert {body["content"]["subtitle"] for _, body in answers} == {"S0E2 - Wedding Day"}
    assert fake.call_log() == {
        "trakt:/users/sean/watching": 1,
        "tmdb:/tv/1396/images": 1,
        "tmdb:/tv/1396/season/0/episode/2/images": 1,
    }
