"""GET /live/stream: the page's live parts as server-sent events, served on the asgi worker's
event loop (nowwatching/asgi.py routes it here, in front of Django), so an open page costs a
socket and a few hundred bytes, never one of the few threads that run Django.

Each worker runs one `Hub`: it subscribes to Redis's pub/sub (`push.CHANNEL`), where every
process publishes what changed (`push.py`), and relays each event to its open streams (or,
without Redis, the events of its own process). An event is the whole of the page's live
parts, as /live renders them: a page that reconnects needs only the latest one, and gets it
at once unless its `Last-Event-ID` (or `?since=`, the id the page was rendered with) is that
one. A comment line every 15 s keeps proxies from closing an idle stream.

While Redis cannot be reached the hub is down: open streams are ended, new ones refused
(503), and the pages poll /live as they always could, until Redis is back. `make run`
(Django's runserver) serves no stream at all: the same address answers 204 there
(`pages.views.live_stream`), and the pages poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from urllib.parse import parse_qs

import redis.asyncio as aioredis
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from redis.exceptions import RedisError

from profile.live import player, push
from profile.live.answers import keep_trakt_fresh

log = logging.getLogger(__name__)

STREAM_PATH = "/live/stream"
HEARTBEAT_SECONDS = 15.0
# Each stream's heartbeat is this much later, at random: streams opened together (a restart,
# a page-load storm) do not all write in the same millisecond.
HEARTBEAT_JITTER = 0.2
# How long a page's EventSource waits before reconnecting after a stream ended.
RETRY_MS = 3000
# Open streams one worker holds at most (each is a socket and a small object).
MAX_STREAMS = 10_000
# How often the subscriber looks at the shared cache's breaker while no message comes.
CHECK_SECONDS = 1.0
RECONNECT_SECONDS = (0.25, 5.0)  # first and longest wait before subscribing again
STARTING_SECONDS = 3.0  # how long a stream asked of a starting worker waits for it


class Stream:
    """One open page: the event it has yet to get, and what wakes it."""

    __slots__ = ("pending", "wake", "closed")

    def __init__(self) -> None:
        self.pending: push.LiveEvent | None = None
        self.wake = asyncio.Event()
        self.closed = False

    def offer(self, event: push.LiveEvent) -> None:
        self.pending = event  # only the latest matters: each event is the whole state
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


class Hub:
    """This worker's open streams and its subscription."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.latest: push.LiveEvent | None = None
        self.up = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._said_down = False
        self.tried: asyncio.Event | None = None  # set once the first subscription was tried

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.tried = asyncio.Event()
        push.listen(self._from_another_thread)
        self._tasks.append(asyncio.create_task(self._keep_fresh(), name="live-fresh"))
        url = push.pubsub_url()
        if url is None:
            self.latest = await self._read_latest()
            self.up = True  # this process's own events only
            self.tried.set()
            return
        self._tasks.append(asyncio.create_task(self._subscribe(url), name="live-subscriber"))

    async def stop(self) -> None:
        push.unlisten(self._from_another_thread)
        self.close_all()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close_all(self) -> None:
        for stream in list(self.streams):
            stream.close()

    def deliver(self, event: push.LiveEvent) -> None:
        if self.latest is not None and not push.newer(event, self.latest.id):
            return  # rendered before the one the pages have: it would take them back
        self.latest = event
        push.relayed(event)
        for stream in self.streams:
            stream.offer(event)

    def _from_another_thread(self, event: push.LiveEvent) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.deliver, event)

    async def _keep_fresh(self) -> None:
        """While pages are open here, Trakt's answer is read as their polls used to, so a
        change on Trakt is noticed at its usual pace (and pushed)."""
        while True:
            await asyncio.sleep(max(1, settings.WATCHING_CACHE_SECONDS))
            if self.streams:
                try:
                    await asyncio.get_running_loop().run_in_executor(None, keep_trakt_fresh)
                except Exception:  # a cache or upstream surprise: the next round tries again
                    log.exception("live pushes: keeping Trakt's answer fresh failed")

    async def _read_latest(self) -> push.LiveEvent | None:
        # The cache is synchronous (a Redis round trip with a short timeout): off the loop.
        latest = await asyncio.get_running_loop().run_in_executor(None, push.latest)
        push.relayed(latest)
        return latest

    async def _subscribe(self, url: str) -> None:
        wait = RECONNECT_SECONDS[0]
        while True:
            client = aioredis.from_url(url, socket_connect_timeout=0.5, socket_keepalive=True)
            try:
                pubsub = client.pubsub()
                await asyncio.wait_for(pubsub.subscribe(push.CHANNEL), timeout=2)
                # What was pushed while this worker was not listening.
                self.latest = await self._read_latest() or self.latest
                self._set_up(True)
                wait = RECONNECT_SECONDS[0]
                await self._relay(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as error:
                self._set_up(False, error)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECONNECT_SECONDS[1])

    async def _relay(self, pubsub) -> None:
        while True:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=CHECK_SECONDS
            )
            if message is not None and message.get("type") == "message":
                try:
                    event = push.LiveEvent.decode(message["data"])
                except ValueError:
                    log.warning("live pushes: an unreadable message on %s", push.CHANNEL)
                    continue
                # Whatever changed was written to the shared cache before it was published.
                player.forget_local()
                self.deliver(event)
            elif push.pubsub_down():
                # This process's cache calls find Redis unreachable (frozen, say), though the
                # subscription has not noticed: the pushes of others are not arriving.
                raise ConnectionError("the shared cache's breaker is open")

    async def ready(self) -> bool:
        """Up, once the first subscription was tried (a worker that just started may be
        asked before it has subscribed)."""
        if not self.up and self.tried is not None and not self.tried.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.tried.wait(), timeout=STARTING_SECONDS)
        return self.up

    def _set_up(self, up: bool, error: BaseException | None = None) -> None:
        if self.tried is not None:
            self.tried.set()
        if up == self.up:
            return
        self.up = up
        if up:
            if self._said_down:
                log.info("live pushes: Redis's pub/sub is back; open pages stream again")
            self._said_down = False
            return
        self.close_all()  # the pages poll /live until the stream is back
        if not self._said_down:
            log.warning(
                "live pushes: Redis's pub/sub cannot be reached (%s); open pages poll /live "
                "until it is back",
                type(error).__name__ if error else "error",
            )
            self._said_down = True


HUB = Hub()


# --- The ASGI side --------------------------------------------------------------------------------

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # Proxies (nginx) must not buffer the stream.
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
    # A stream is never followed by another request on its connection.
    (b"connection", b"close"),
]


async def lifespan(receive, send) -> None:
    """The worker's start and end: the hub subscribes, and lets go."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await HUB.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await HUB.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def serve(scope, receive, send) -> None:
    """One page's stream, until the page goes, the worker stops or Redis does."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    if scope.get("method") != "GET":
        return await _refuse(send, 405, "Only GET.", [(b"allow", b"GET")])
    if not _host_allowed(headers.get(b"host", b"").decode("latin-1")):
        return await _refuse(send, 400, "The request could not be understood.")
    hub = HUB
    if not await hub.ready() or len(hub.streams) >= MAX_STREAMS:
        return await _refuse(send, 503, "No stream now: poll /live.", [(b"retry-after", b"30")])
    stream = Stream()
    hub.streams.add(stream)
    gone = asyncio.ensure_future(_disconnected(receive))
    heartbeat = HEARTBEAT_SECONDS * (1 + random.uniform(0, HEARTBEAT_JITTER))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        first = f"retry: {RETRY_MS}\n\n".encode()
        if hub.latest is not None and push.newer(hub.latest, _seen(headers, scope)):
            first += frame(hub.latest)
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while not stream.closed:
            woken = asyncio.ensure_future(stream.wake.wait())
            done, _ = await asyncio.wait(
                {woken, gone}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            woken.cancel()
            if gone in done:
                return
            if stream.closed:
                break
            if stream.wake.is_set():
                stream.wake.clear()
                event, stream.pending = stream.pending, None
                body = frame(event) if event is not None else b""
            else:
                body = b": keep-alive\n\n"
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the page went while we wrote
    finally:
        hub.streams.discard(stream)
        gone.cancel()


def frame(event: push.LiveEvent) -> bytes:
    return f"id: {event.id}\nevent: live\ndata: {event.data}\n\n".encode()


def _seen(headers: dict, scope) -> str:
    """The id of the last event the page has: its EventSource's Last-Event-ID on a
    reconnection, else the one it was rendered with (?since=)."""
    last = headers.get(b"last-event-id", b"").decode("latin-1")
    if not last:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        last = (query.get("since") or [""])[0]
    return last[:64]


def _host_allowed(host: str) -> bool:
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _refuse(send, status: int, message: str, extra=()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": message.encode()})
