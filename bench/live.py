"""`make bench`'s live rows: how soon a webhook reaches open pages, what 1,000 open streams
cost the rest of the site, and what 200 friends cost in Trakt calls.

gunicorn as `make serve` runs it (2 asgi workers, Redis), twice (one with the streams open,
one without, for the p99s), the fake Trakt/TMDB with its usual delay and 200 people followed
(FRIENDS=all), the scripted player (tests/player.py) posting real-shaped Plex webhooks. The
streams are held by an asyncio client in a thread of this process (plain sockets, as an
EventSource would hold them).

    .venv/bin/python bench/run.py --live-only
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.fake_upstream import FakeUpstream
from tests.player import Player
from tests.servers import gunicorn, redis_server

WEBHOOK_TOKEN = "bench-webhook-token-0123456789abcdef"
STREAMS = 1000
WEBHOOKS = 20  # measured per row (pause and resume in turn: one push each)
FRIENDS = 200


@dataclass
class Streams:
    """`count` open streams to a site, each noting when its events arrive."""

    url: str
    count: int
    arrivals: list[list[float]] = field(default_factory=list)
    opened: int = 0
    failed: int = 0

    def __post_init__(self):
        self.arrivals = [[] for _ in range(self.count)]
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(timeout=120):
            raise RuntimeError("the streams did not open in time")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self):
        self.stop = asyncio.Event()
        tasks = []
        for number in range(self.count):
            tasks.append(asyncio.create_task(self._one(number)))
            if number % 50 == 49:
                await asyncio.sleep(0.05)  # a few hundred connections a second
        while self.opened + self.failed < self.count:
            await asyncio.sleep(0.05)
        self.ready.set()
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, number: int):
        parts = urlsplit(self.url)
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(
                b"GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise ConnectionError(head[:40])
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            self.failed += 1
            return
        self.opened += 1
        tail = b""
        try:
            while chunk := await reader.read(65536):
                seen = tail + chunk
                now = time.monotonic()
                self.arrivals[number].extend([now] * seen.count(b"event: live"))
                tail = seen[-16:]
        finally:
            writer.close()

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)

    def counts(self) -> list[int]:
        return [len(each) for each in self.arrivals]


def push_latencies(site_url: str, streams: Streams, webhooks: int) -> list[float]:
    """Seconds from each webhook's POST to its event's arrival, on every stream."""
    plex = Player("plex", WEBHOOK_TOKEN)
    latencies: list[float] = []
    for number in range(webhooks):
        before = streams.counts()
        sent = time.monotonic()
        status, _ = plex.post(site_url, "pause" if number % 2 == 0 else "resume", 600)
        if status != 202:
            raise RuntimeError(f"the webhook answered {status}")
        deadline = sent + 30
        while time.monotonic() < deadline:
            if all(len(a) > b for a, b in zip(streams.arrivals, before, strict=True)):
                break
            time.sleep(0.005)
        for arrivals, seen in zip(streams.arrivals, before, strict=True):
            if len(arrivals) > seen:
                latencies.append(arrivals[seen] - sent)
            elif streams.opened:
                latencies.append(float("inf"))  # never came within 30 s
        time.sleep(0.2)  # the next one apart from this one's push
    return sorted(latencies)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


ROUNDS = 7
ROUND_SECONDS = 2
FRIEND_WINDOW = 60  # seconds: ten slots of the friends' budget


def live_rows(args, load, prime, median_p99):
    """The rows and targets (`load`, `prime`, `median_p99`: bench/run.py's).

    Two sites like `make serve`'s run side by side on one Redis (two machines): 1,000 streams
    are held open on one, none on the other, and wrk's rounds go to each in turn, so both
    are measured under the same background load (this machine is shared)."""
    rows, targets = [], []
    with FakeUpstream(delay=0.3, following=FRIENDS) as fake, redis_server() as cache_url:
        env = fake.env() | {
            "CACHE_URL": cache_url,
            "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "MEDIA_SERVER_USER": "sean",
            "FRIENDS": "all",
        }
        with gunicorn(env, workers=2) as site, gunicorn(env, workers=2) as quiet_site:
            window = FriendWindow(fake)
            paths = {"/": "`/`", "/api/watching": "`/api/watching`"}
            Player("plex", WEBHOOK_TOKEN).post(site.url, "play", 0)  # plays throughout
            for each in (site, quiet_site):
                for path in paths:
                    prime(each.url + path, 4)

            one = Streams(site.url, 1)
            single = push_latencies(site.url, one, WEBHOOKS)
            one.close()

            many = Streams(site.url, STREAMS)
            rounds = {(name, path): [] for name in ("quiet", "streams") for path in paths}
            for _ in range(ROUNDS):
                for path, label in paths.items():
                    for name, each in (("quiet", quiet_site), ("streams", site)):
                        run = load(label, fake, each.url + path, ROUND_SECONDS, args.connections)
                        rounds[name, path].append(run)
            fanned = push_latencies(site.url, many, WEBHOOKS)
            got_events = sum(1 for count in many.counts() if count)
            opened, failed = many.opened, many.failed
            many.close()

            friend_calls, seconds = window.result()
            logs = site.log_text() + quiet_site.log_text()

    for name, values in (("1 stream", single), (f"{STREAMS:,} streams", fanned)):
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        rows.append((f"webhook → open page, {name}", len(values), p50 * 1000, p95 * 1000))
        targets.append(
            (
                f"webhook → page with {name}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
                f"({len(values)} arrivals of {WEBHOOKS} webhooks) (target p95 ≤ 2 s)",
                p95 <= 2.0,
            )
        )
    for path, name in paths.items():
        without = median_p99(rounds["quiet", path])
        with_streams = median_p99(rounds["streams", path])
        ratio = with_streams / without if without else float("inf")
        each = " / ".join(
            f"{a.p99_ms:.0f}÷{b.p99_ms:.0f}"
            for a, b in zip(rounds["streams", path], rounds["quiet", path], strict=True)
        )
        targets.append(
            (
                f"{name} p99 with {opened:,} streams open ÷ with none = {with_streams:.1f} ÷ "
                f"{without:.1f} ms = {ratio:.2f}, the medians of {ROUNDS} rounds taken in turn "
                f"(each round's, ms: {each}) (target ≤ 2)",
                ratio <= 2 and opened == STREAMS,
            )
        )
    per_5_minutes = friend_calls * 300 / seconds
    targets.append(
        (
            f"{FRIENDS} friends, both sites asking: {friend_calls} Trakt calls in {seconds:.0f} s "
            f"(whole slots of the budget) = {per_5_minutes:.1f} per 5 minutes (target ≤ 50)",
            per_5_minutes <= 50,
        )
    )
    notes = [
        f"{opened:,} streams opened ({failed} refused), {got_events:,} got events; "
        f"server logs: {logs.count('Traceback')} tracebacks"
    ]
    return rows, targets, notes


class FriendWindow:
    """The friends' Trakt calls in exactly FRIEND_WINDOW seconds, from the middle of a slot
    of their budget to the middle of another (a window cut inside a slot would count its
    call in a fraction of its time)."""

    def __init__(self, fake):
        self.fake = fake
        self.counts: list[int] = []
        slot = 300 / 50
        first = slot - time.time() % slot + slot / 2
        self.timers = [
            threading.Timer(first + offset, lambda: self.counts.append(_friend_calls(fake)))
            for offset in (0, FRIEND_WINDOW)
        ]
        for timer in self.timers:
            timer.start()

    def result(self) -> tuple[int, float]:
        for timer in self.timers:
            timer.join()
        return self.counts[1] - self.counts[0], FRIEND_WINDOW


def _friend_calls(fake) -> int:
    log = fake.call_log()
    return sum(n for key, n in log.items() if key.startswith("trakt:/users/friend-")) + sum(
        n for key, n in log.items() if key.endswith("/following")
    )


def print_live(rows, targets, notes) -> None:
    print()
    print(
        f"Live: gunicorn as `make serve` runs it (2 asgi workers), twice on one Redis (the "
        f"streams on one, none on the other), the fake Trakt/TMDB (+300 ms), {FRIENDS} people "
        f"followed (FRIENDS=all); a Plex webhook (pause, then resume) {WEBHOOKS} times per row, "
        f"timed from its POST to its event's arrival on every open stream."
    )
    print()
    print("| scenario | arrivals | p50 | p95 |")
    print("|---|---:|---:|---:|")
    for name, count, p50, p95 in rows:
        print(f"| {name} | {count} | {p50:.1f} ms | {p95:.1f} ms |")
    print()
    for text, holds in targets:
        print(f"{'holds' if holds else 'FAILS'}: {text}")
    for note in notes:
        print(note)
