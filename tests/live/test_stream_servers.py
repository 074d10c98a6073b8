"""The live stream as `make serve` runs it: gunicorn's asgi workers sharing Redis (and two
sites sharing one Redis, as two machines would), Redis going away and coming back, a
stopping worker. The events come from the scripted player's webhooks."""

from __future__ import annotations

import time
import urllib.request

import pytest
import redis

from profile.live.push import CHANNEL
from tests.conftest import WEBHOOK_TOKEN
from tests.fake_upstream import FakeUpstream
from tests.player import EPISODE, Player
from tests.servers import gunicorn, redis_process
from tests.sse import EventStream

HOOKS = {"WEBHOOK_TOKEN": WEBHOOK_TOKEN, "MEDIA_SERVER_USER": "sean"}


@pytest.fixture(scope="module")
def upstream():
    with FakeUpstream(watching="idle") as fake:
        yield fake


@pytest.fixture
def redis_server():
    with redis_process() as server:
        yield server


def env(upstream, redis_server) -> dict[str, str]:
    return upstream.env() | HOOKS | {"CACHE_URL": redis_server.url}


def subscribers(redis_server) -> int:
    client = redis.Redis.from_url(redis_server.url)
    return dict(client.pubsub_numsub(CHANNEL))[CHANNEL.encode()]


def until(check, seconds: float = 20):
    """`check()`'s first true value before the deadline (polled, not slept through)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    pytest.fail(f"{check} never held")


def banner_of(event: dict | None) -> str:
    assert event is not None, "no event came"
    return event["data"]["fragments"]["banner"]


def test_a_webhook_to_one_machine_reaches_the_pages_open_on_another(upstream, redis_server):
    with (
        gunicorn(env(upstream, redis_server), workers=1) as a,
        gunicorn(env(upstream, redis_server), workers=1) as b,
    ):
        with EventStream(a.url) as on_a, EventStream(b.url) as on_b:
            assert (on_a.status, on_b.status) == (200, 200)
            until(lambda: subscribers(redis_server) == 2)

            assert Player("plex", WEBHOOK_TOKEN).post(b.url, "play", 600)[0] == 202

            assert "Super 8" in banner_of(on_a.next_event(timeout=20))
            assert "Super 8" in banner_of(on_b.next_event(timeout=20))
            # And each site answers the same, at once.
            with urllib.request.urlopen(a.url + "/api/watching") as answer:
                assert b'"source": "plex"' in answer.read()


def test_every_worker_relays_every_change_in_order(upstream, redis_server):
    with gunicorn(env(upstream, redis_server), workers=2) as site:
        streams = [EventStream(site.url) for _ in range(6)]  # spread over both workers
        try:
            until(lambda: subscribers(redis_server) == 2)
            emby = Player("emby", WEBHOOK_TOKEN, item=EPISODE)
            emby.post(site.url, "play", 600)
            for each in streams:
                assert "Breaking Bad" in banner_of(each.next_event(timeout=20))
            emby.post(site.url, "pause", 900)
            for each in streams:
                # The lookup's own push may come first; the pause is the last word.
                until(lambda each=each: "banner--paused" in banner_of(each.next_event(20)))
            emby.post(site.url, "stop", 2500)
            for each in streams:
                until(lambda each=each: "data-banner " not in banner_of(each.next_event(20)))
        finally:
            for each in streams:
                each.close()


def test_a_thousand_open_pages_all_get_the_change_and_the_site_still_answers(
    upstream, redis_server
):
    # As `make serve` runs it: 2 workers. The streams live on the event loop, not a thread
    # each, so the site's other addresses go on answering (their cost is make bench's row).
    with gunicorn(env(upstream, redis_server), workers=2) as site:
        streams = []
        try:
            for _ in range(1000):
                streams.append(EventStream(site.url))
            assert {each.status for each in streams} == {200}
            until(lambda: subscribers(redis_server) == 2)

            assert Player("plex", WEBHOOK_TOKEN).post(site.url, "play", 600)[0] == 202

            for path in ("/", "/api/watching"):
                with urllib.request.urlopen(site.url + path, timeout=30) as answer:
                    assert answer.status == 200
            for each in streams:
                assert "Super 8" in banner_of(each.next_event(timeout=30))
        finally:
            for each in streams:
                each.close()
        Player("plex", WEBHOOK_TOKEN).post(site.url, "stop", 700)
        assert "Traceback" not in site.log_text()


def test_with_redis_down_pages_poll_and_nothing_fails_then_streams_come_back(
    upstream, redis_server
):
    with gunicorn(env(upstream, redis_server), workers=2) as site:
        with EventStream(site.url) as open_stream:
            until(lambda: subscribers(redis_server) == 2)
            redis_server.kill()

            assert open_stream.next_event(timeout=20) is None and open_stream.ended
            refused = until(lambda: EventStream(site.url).status == 503 or None)
            assert refused
            status, answer = Player("plex", WEBHOOK_TOKEN).post(site.url, "play", 600)
            assert (status, answer["accepted"]) == (202, True)
            for path in ("/", "/live", "/api/watching", "/api/watching.svg", "/healthz"):
                with urllib.request.urlopen(site.url + path, timeout=20) as response:
                    assert response.status == 200, path

        redis_server.start()  # the same port, empty
        until(lambda: EventStream(site.url).status == 200, seconds=30)
        log = site.log_text()

    assert "Traceback" not in log
    assert " 500 " not in log
    assert "live pushes: Redis's pub/sub cannot be reached" in log


def test_a_stopping_worker_ends_its_streams_instead_of_waiting_for_them(upstream, redis_server):
    with gunicorn(env(upstream, redis_server), workers=1) as site:
        streams = [EventStream(site.url) for _ in range(3)]
        until(lambda: subscribers(redis_server) == 1)
        site.process.terminate()
        for each in streams:
            assert each.next_event(timeout=20) is None and each.ended
        site.process.wait(timeout=20)
        log = site.log_text()

    # Ended by the worker (its SIGTERM hook), not held until the graceful timeout killed it.
    assert "Waiting for 3 connections to finish" not in log
    assert "Worker exiting" in log
