"""GET /live/stream, the ASGI side, in-process: what a page gets when it connects, reconnects,
idles and goes; what is refused; what a stopping worker or a hub without Redis does. Across
real workers and Redis: tests/live/test_stream_servers.py."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from profile.live import push, stream
from tests.conftest import WEBHOOK_TOKEN
from tests.player import Player


class Page:
    """One page's stream: the messages the server sent it, and a way to leave."""

    def __init__(self, headers=(), query: bytes = b"", method: str = "GET", host=b"127.0.0.1"):
        self.sent: asyncio.Queue = asyncio.Queue()
        self.gone = asyncio.Event()
        scope = {
            "type": "http",
            "method": method,
            "path": stream.STREAM_PATH,
            "headers": [(b"host", host), *headers],
            "query_string": query,
        }
        self.task = asyncio.create_task(stream.serve(scope, self._receive, self.sent.put))

    async def _receive(self):
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def start(self) -> dict:
        return await asyncio.wait_for(self.sent.get(), timeout=5)

    async def body(self) -> bytes:
        message = await asyncio.wait_for(self.sent.get(), timeout=5)
        assert message["type"] == "http.response.body"
        return message["body"]

    async def leave(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, timeout=5)


def event(number: int) -> push.LiveEvent:
    return push.LiveEvent(f"e{number}", json.dumps({"n": number}))


def run(test):
    """Runs `test(hub)` on a fresh hub, up and without Redis (the cache is local memory), on
    an event loop of its own in a thread of its own (Playwright's sync API may hold one in
    this thread), as a worker's loop is."""

    async def main():
        hub = stream.Hub()
        await hub.start()
        previous, stream.HUB = stream.HUB, hub
        try:
            await test(hub)
        finally:
            stream.HUB = previous
            await hub.stop()

    with ThreadPoolExecutor(1) as loop_thread:
        loop_thread.submit(asyncio.run, main()).result(timeout=60)


def test_an_event_reaches_every_open_page_at_once():
    async def test(hub):
        pages = [Page() for _ in range(3)]
        for page in pages:
            start = await page.start()
            assert start["status"] == 200
            assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
            assert await page.body() == b"retry: 3000\n\n"

        hub.deliver(event(1))

        for page in pages:
            assert await page.body() == b'id: e1\nevent: live\ndata: {"n": 1}\n\n'
            await page.leave()
        assert hub.streams == set()

    run(test)


def test_an_event_rendered_before_the_one_the_pages_have_is_dropped():
    """Two workers render at once: the one that read the older state may publish last."""

    async def test(hub):
        page = Page()
        await page.start()
        await page.body()  # retry:
        hub.deliver(event(2))
        assert await page.body() == b'id: e2\nevent: live\ndata: {"n": 2}\n\n'

        hub.deliver(event(1))  # rendered before e2, relayed after it
        assert hub.latest.id == "e2"
        assert all(each.pending is None for each in hub.streams)  # nothing to send
        hub.deliver(event(3))

        assert await page.body() == b'id: e3\nevent: live\ndata: {"n": 3}\n\n'
        assert hub.latest.id == "e3"
        await page.leave()

    run(test)


@pytest.mark.parametrize(
    ("headers", "query", "replayed"),
    [
        ((), b"", True),  # a page rendered before any event it has not seen
        ((), b"since=e2", False),  # rendered with the latest: nothing to send
        ((), b"since=e1", True),
        (((b"last-event-id", b"e2"),), b"since=e1", False),  # a reconnection: its last id
        (((b"last-event-id", b"e1"),), b"", True),
        # Reconnected to a worker that has not relayed the page's newest yet: never back.
        (((b"last-event-id", b"e3"),), b"", False),
        ((), b"since=e3", False),
    ],
)
def test_a_page_that_connects_gets_the_latest_event_unless_it_has_it(headers, query, replayed):
    async def test(hub):
        hub.deliver(event(1))
        hub.deliver(event(2))
        page = Page(headers, query)
        await page.start()

        first = await page.body()

        assert first.startswith(b"retry: 3000\n\n")
        assert (b"id: e2\n" in first) is replayed
        await page.leave()

    run(test)


def test_an_idle_stream_gets_a_comment_to_keep_it_open(monkeypatch):
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)

    async def test(hub):
        page = Page()
        await page.start()
        await page.body()

        assert await page.body() == b": keep-alive\n\n"
        await page.leave()

    run(test)


@pytest.mark.parametrize(
    ("method", "host", "status"),
    [("POST", b"127.0.0.1", 405), ("HEAD", b"127.0.0.1", 405), ("GET", b"evil.example", 400)],
)
def test_other_methods_and_unknown_hosts_are_refused(method, host, status):
    async def test(hub):
        page = Page(method=method, host=host)
        start = await page.start()
        await page.body()

        assert start["status"] == status
        assert not hub.streams

    run(test)


def test_a_hub_without_its_redis_refuses_streams_and_the_pages_poll():
    async def test(hub):
        open_page = Page()
        await open_page.start()
        await open_page.body()

        hub._set_up(False, ConnectionError())
        ended = await open_page.body()
        refused = Page()
        start = await refused.start()

        assert ended == b""  # the open stream ends...
        assert start["status"] == 503  # ...and a new one is refused until Redis is back
        assert (b"retry-after", b"30") in start["headers"]
        hub._set_up(True)
        back = Page()
        assert (await back.start())["status"] == 200
        await back.leave()

    run(test)


def test_a_stopping_worker_ends_every_stream_at_once():
    async def test(hub):
        pages = [Page() for _ in range(2)]
        for page in pages:
            await page.start()
            await page.body()

        hub.close_all()

        for page in pages:
            assert await page.body() == b""
            await asyncio.wait_for(page.task, timeout=5)

    run(test)


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_pushed_to_this_processs_pages_without_redis(client, hooks, pushes):
    async def test(hub):
        page = Page()
        await page.start()
        await page.body()

        await asyncio.to_thread(Player("plex", WEBHOOK_TOKEN).send, client, "play", 600)

        frame = (await page.body()).decode()
        answer = json.loads(frame.split("data: ", 1)[1])
        assert answer["title"].startswith("Now watching: Super 8")
        assert set(answer["fragments"]) == {"banner", "last-watched", "friends", "recent"}
        assert "Super 8" in answer["fragments"]["banner"]
        await page.leave()

    run(test)


async def page_while_trakt_is_asked(fake, times: int) -> Page:
    """A page open on the stream, once the hub has asked Trakt `times` times (20 s at most)."""
    page = Page()
    await page.start()
    await page.body()
    deadline = asyncio.get_running_loop().time() + 20
    while fake.calls("trakt:/users/sean/watching") < times:
        assert asyncio.get_running_loop().time() < deadline, "Trakt was not asked"
        await asyncio.sleep(0.05)
    return page


@pytest.mark.django_db(transaction=True)
def test_a_change_on_trakt_is_pushed_when_its_poll_sees_it(fake, settings, pushes):
    # No media server speaks: Trakt's poll, which the hub keeps at its usual pace while pages
    # are open, is the source, and what it newly reports reaches the open pages unasked.
    settings.WATCHING_CACHE_SECONDS = 1
    fake.set(watching="idle")

    async def test(hub):
        page = await page_while_trakt_is_asked(fake, times=1)

        fake.set(watching="movie")

        frame = ""
        deadline = asyncio.get_running_loop().time() + 20
        while "data: " not in frame:  # past any keep-alive comment
            left = deadline - asyncio.get_running_loop().time()
            frame = (await asyncio.wait_for(page.sent.get(), timeout=left))["body"].decode()
        answer = json.loads(frame.split("data: ", 1)[1])
        assert "Super 8" in answer["fragments"]["banner"]
        await page.leave()

    run(test)


def test_under_djangos_own_server_the_stream_is_a_204_and_the_page_polls(client):
    response = client.get("/live/stream")

    assert response.status_code == 204
    assert response.content == b""


def test_while_pages_stream_trakt_is_still_asked_at_its_usual_pace(fake, settings):
    # Streaming pages poll /live once a minute; the hub reads Trakt's answer as their polls
    # did, so a change on Trakt is noticed (and pushed) as soon as before.
    settings.WATCHING_CACHE_SECONDS = 1
    fake.set(watching="idle")

    async def test(hub):
        page = await page_while_trakt_is_asked(fake, times=3)
        await page.leave()

    run(test)


def test_a_page_is_rendered_with_the_id_of_the_last_event_its_worker_relayed(client, monkeypatch):
    monkeypatch.setattr(push, "_relayed_id", "")
    assert 'data-event-id=""' in client.get("/").content.decode()

    push.relayed(event(7))

    assert 'data-event-id="e7"' in client.get("/").content.decode()
