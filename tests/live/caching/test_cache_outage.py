"""The site outlives its shared cache: Redis killed (SIGKILL) or frozen (SIGSTOP).

Each process falls back to its own memory behind a breaker (nowwatching/cache_backend.py):
answers keep coming, a dead Redis costs one short timeout every few seconds rather than one
per request, single flight holds per process, one warning per outage and one line when it
ends, and /healthz says "degraded" (still 200).
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.test import Client
from redis.exceptions import ResponseError

from nowwatching import cache_backend
from nowwatching import settings as project_settings
from profile.live import answers as live_answers
from profile.live import cache as reuse
from profile.live.cache import wait_for_refreshes
from tests.live.caching.test_revalidate import later
from tests.servers import redis_process

CALLERS = 30


@pytest.fixture
def redis(settings):
    """A Redis of this test's own, which it may kill or freeze; the process's cache uses it."""
    with redis_process() as redis:
        settings.CACHES = {**settings.CACHES, "default": project_settings.redis_cache(redis.url)}
        yield redis
        cache_backend._breakers.clear()  # its breaker goes with it


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(cache_backend, "RETRY_SECONDS", 0.5)
    monkeypatch.setattr(cache_backend, "HEALTH_PING_SECONDS", 0.0)


def breaker():
    return cache.breaker


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "nowwatching.cache"]


def ask_watching_repeatedly(seconds: float, fake) -> list[tuple[float, object]]:
    """/api/watching asked in a loop for `seconds`, each answer with the time it took. The
    reuse window is 0 here, so every request goes to the (shared) cache and to Trakt."""
    answers = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.monotonic()
        response = Client().get("/api/watching")
        answers.append((time.monotonic() - started, response))
    return answers


@pytest.mark.parametrize("fault", ["kill", "freeze"])
def test_a_dead_or_frozen_redis_costs_one_short_timeout_every_few_seconds(
    redis, fake, settings, caplog, quick_retries, fault
):
    settings.WATCHING_CACHE_SECONDS = 0  # every request reads and writes the shared cache
    assert Client().get("/api/watching").status_code == 200

    getattr(redis, fault)()
    with caplog.at_level(logging.WARNING, logger="nowwatching.cache"):
        answers = ask_watching_repeatedly(2.0, fake)

    took = [seconds for seconds, _ in answers]
    assert {response.status_code for _, response in answers} == {200}
    assert len(answers) > 20
    # At most one Redis timeout per retry period (the first failure, then one try each).
    assert breaker().failures <= 1 + 2.0 / cache_backend.RETRY_SECONDS + 1
    assert max(took) < 1.0
    assert outage_lines(caplog) == [
        f"The shared cache at 127.0.0.1:{redis.port} is unreachable "
        f"({'TimeoutError' if fault == 'freeze' else 'ConnectionError'}): each process serves "
        "from its own memory and tries again every 0.5 s."
    ]


def test_what_this_process_stored_is_still_served_when_redis_dies(redis, fake):
    fake.set(watching_delay=0.3)
    first = live_answers.get_watching()
    redis.kill()
    from django.core.cache import caches

    caches["local"].clear()  # not even this process's fresh copy: only the fallback memory

    again = live_answers.get_watching()

    assert again.watching == first.watching and again.error is None
    assert fake.calls("trakt:") == 1  # written through to memory: no new Trakt call


def test_single_flight_holds_per_process_while_redis_is_down(redis, fake):
    redis.kill()
    fake.set(watching_delay=0.3)  # all callers arrive while the first fetch is under way

    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(lambda _: live_answers.get_watching(), range(CALLERS)))

    assert {answer.error for answer in answers} == {None}
    assert {answer.watching.title for answer in answers} == {"Super 8"}
    assert fake.calls("trakt:") == 1


def test_healthz_says_degraded_while_redis_is_frozen_then_ok_once_it_answers(
    redis, client, caplog, quick_retries
):
    assert client.get("/healthz").json()["cache"] == "ok"
    assert client.get("/healthz").json()["database"] == "ok"

    redis.freeze()
    with caplog.at_level(logging.WARNING, logger="nowwatching.cache"):
        frozen = client.get("/healthz")
        redis.thaw()
        deadline = time.monotonic() + 10
        while (back := client.get("/healthz")).json()["cache"] != "ok":
            assert time.monotonic() < deadline, "the breaker never closed"
            time.sleep(0.1)

    assert (frozen.status_code, frozen.json()["cache"]) == (200, "degraded")
    assert frozen.json()["status"] == "ok"
    assert frozen.json()["database"] == "ok"
    assert back.status_code == 200
    lines = outage_lines(caplog)
    assert len(lines) == 2 and "unreachable" in lines[0]
    assert lines[1].startswith(f"The shared cache at 127.0.0.1:{redis.port} is back after")


def test_healthz_does_not_ask_redis_on_every_request(redis, client, monkeypatch):
    pings = []
    original = cache_backend.FallbackRedisCache.reachable

    def counted(self):
        pings.append(1) if time.monotonic() - self.breaker.last_ok >= 5 else None
        return original(self)

    monkeypatch.setattr(cache_backend.FallbackRedisCache, "reachable", counted)
    for _ in range(50):
        assert client.get("/healthz").json()["cache"] == "ok"

    assert len(pings) <= 1  # the first, at most: then the last contact is recent


def test_a_redis_that_comes_back_empty_is_filled_again(redis, fake, quick_retries):
    live_answers.get_watching()
    redis.kill()
    assert cache.get("anything") is None and breaker().is_open
    redis.start()  # the same port, nothing in it
    time.sleep(cache_backend.RETRY_SECONDS + 0.1)  # waiting out the breaker, not an event

    with later(20):  # past the reuse window: this process's copy is served while refreshing
        answer = live_answers.get_watching()
        assert wait_for_refreshes(timeout=30)
        refilled = cache.get(reuse.KEY + "watching")

    assert answer.error is None and answer.watching.title == "Super 8"
    assert not breaker().is_open
    assert refilled is not None and refilled.value.title == "Super 8"
    assert fake.calls("trakt:") == 2


def test_a_probe_that_redis_answers_with_an_error_closes_the_breaker(redis, quick_retries):
    redis.kill()
    assert cache.get("anything") is None and breaker().is_open
    redis.start()
    cache.client.set("counter", "not a number")  # straight to Redis, past the breaker
    time.sleep(cache_backend.RETRY_SECONDS + 0.1)  # waiting out the breaker, not an event

    with pytest.raises((ResponseError, TypeError)):  # as django-redis reports it
        cache.incr("counter")  # the probe: Redis answers, with an error

    assert not breaker().is_open
    assert cache.get("counter") == "not a number"  # from Redis, not this process's memory
