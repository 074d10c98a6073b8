"""A loopback fake of Trakt and TMDB for end-to-end, browser and load tests, and the benchmark.

Nothing in the test suite ever calls the real hosts: point the site at this server with
    TRAKT_API_URL={url}/trakt  TMDB_API_URL={url}/tmdb/3  TMDB_IMAGE_URL={url}/img
(`FakeUpstream.env()` gives exactly that).

In-process:   with FakeUpstream() as fake: fake.set(watching="episode"); fake.calls("trakt")
As a program: python -m tests.fake_upstream --port 0 --delay 0.3   (prints "listening on PORT")
and then control it over HTTP: POST /_control {json state}, GET /_calls, POST /_reset.

State (see DEFAULTS): `watching` picks a scenario (movie, episode, checkin, idle,
unknown_action, no_ids, null_year, untitled_episode, markup); `delay` slows every answer;
`watching_delay` only /watching; `trakt_fault` / `tmdb_fault` name a fault for every call of
that service (see FAULTS, WIRE_FAULTS, or a bare HTTP status like "502"); `flip` cycles
through faults every `flip_seconds` (the load test); `hostile` names a HOSTILE case: valid
JSON whose fields are odd (dates at the calendar's ends, lone surrogates, huge numbers, ...),
applied to every Trakt and TMDB body.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import re
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAKT_KEY = "fake-trakt-client-id-0123456789"
TMDB_KEY = "fake-tmdb-api-key-0123456789"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


DEFAULTS = {
    "watching": "movie",
    "started_minutes_ago": 37,
    "runtime_minutes": 112,
    "title": None,  # overrides the movie's or show's title
    "delay": 0.0,
    "watching_delay": 0.0,
    "trakt_fault": None,
    "tmdb_fault": None,
    "profile": "full",
    "flip": None,
    "flip_seconds": 0.25,
    "retry_after": 2,
    "timeout_seconds": 6.0,
    "hostile": None,  # a HOSTILE case
    "drip_seconds": 0.3,  # the gap between bytes of the slow_* faults
}

# Each fault is (status, headers, body); "timeout" and "drip" are handled in the handler.
FAULTS = {
    "ok": None,
    "500": (500, {"Content-Type": "text/plain"}, b"Internal Server Error"),
    "invalid_json": (200, {"Content-Type": "application/json"}, b'{"started_at": "2024-'),
    "html": (200, {"Content-Type": "text/html"}, b"<html><body>Maintenance</body></html>"),
    "html403": (
        403,
        {"Content-Type": "text/html", "Server": "cloudflare"},
        b"<html><body>Forbidden</body></html>",
    ),
    "401": (401, {"Content-Type": "application/json"}, b""),
    "private": (401, {"X-Private-User": "true"}, b""),
    "wrong_shape": (200, {"Content-Type": "application/json"}, b'{"type": "movie", "movie": 5}'),
    "list": (200, {"Content-Type": "application/json"}, b"[1, 2, 3]"),
    "huge": (200, {"Content-Type": "application/json"}, b'{"pad": "' + b"x" * 2_000_000 + b'"}'),
    # Valid JSON nested deeper than any parser's stack (the json module: a RecursionError).
    "deep_nesting": (200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
    "deep_object": (
        200,
        {"Content-Type": "application/json"},
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ),
    "nan": (200, {"Content-Type": "application/json"}, b'{"type": "movie", "pad": NaN}'),
    # Bytes that are not UTF-8 inside a string.
    "invalid_utf8": (
        200,
        {"Content-Type": "application/json"},
        b'{"type": "movie", "movie": {"title": "\xff\xfe\xc3\x28", "ids": {"trakt": 1}}}',
    ),
    "bad_gzip": (
        200,
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        b"\x1f\x8bnot gzip at all",
    ),
}
# Faults that play with the wire itself (handled in the handler): the total deadline, header
# parsing, decompression. slow_status and slow_headers drip their bytes `drip_seconds` apart
# (each read is in time, the whole is not); stall_headers stops halfway through its headers
# for `timeout_seconds`; the *_headers ones send a valid answer with hostile headers.
WIRE_FAULTS = (
    "timeout",
    "drip",
    "endless",
    "slow_status",
    "slow_headers",
    "stall_headers",
    "gzip_bomb",
    "malformed_header",
    "huge_header",
    "many_headers",
    "absurd_headers",
    "429_absurd",
    "429_date",
)
# Rate-limit and pagination headers no parser should choke on.
ABSURD_RATE_LIMITS = [
    "[" * 5000 + "]" * 5000,
    '{"limit": 1e999, "remaining": -1e999}',
    '{"limit": ' + "9" * 400 + ', "remaining": 1}',
    '{"limit": ' + "9" * 5000 + ', "remaining": 1}',
    '{"limit": "lots", "remaining": null}',
    '{"limit": 0, "remaining": 0}',
    "[1, 2]",
    "not json",
]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- Hostile bodies: valid JSON, odd fields --------------------------------------------------
#
# Each case changes the fields of a body of one kind ("watching", "history" item, "profile",
# "stats", "tmdb"). What the site must do with each: drop an odd optional field, refuse a
# body whose required field is odd (bad_response), and never crash on what it let through.

BIG = 2**53  # the largest id or count the boundary accepts


def _times(body: dict, kind: str, started, expires, joined=None, watched=None) -> None:
    if kind == "watching":
        body["started_at"], body["expires_at"] = started, expires
    elif kind == "history":
        body["watched_at"] = watched if watched is not None else started
    elif kind == "profile":
        body["joined_at"] = joined if joined is not None else started


def _texts(body: dict, kind: str, value) -> None:
    for media in ("movie", "show", "episode"):
        if isinstance(body.get(media), dict):
            body[media]["title"] = value
    if kind == "profile":
        body["name"] = body["location"] = body["about"] = value
        body["images"] = {"avatar": {"full": value}}


def _hostile_body(case: str, kind: str, body):
    """`body` (of `kind`) as the HOSTILE `case` has it; a new object."""
    body = copy.deepcopy(body)
    if kind == "tmdb":
        return _hostile_tmdb(case, body)
    if kind == "stats":
        return _hostile_stats(case, body)
    if case == "calendar_ends":  # the first and last moments the boundary accepts
        _times(body, kind, "1900-01-01T00:00:00Z", "2199-12-31T23:59:59.999999Z",
               joined="1900-01-01T00:00:00+00:00", watched="2199-12-31T23:59:59Z")  # fmt: skip
    elif case == "beyond_calendar":  # valid ISO dates the boundary refuses (overflow in UTC)
        _times(body, kind, "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59",
               joined="9999-12-31T23:59:59-23:59")  # fmt: skip
    elif case == "zoneless":
        _times(body, kind, "2024-01-01T10:00:00", "2024-01-01T12:00:00")
    elif case == "not_dates":
        _times(body, kind, "yesterday", 1700000000, joined="2024-02-30T00:00:00Z")
    elif case == "odd_date_forms":  # ISO 8601, but not the RFC 3339 a browser parses
        _times(body, kind, "20240101T100000Z", "2024-01-01 12:00:00+00:00",
               joined="2024-W01-1T00:00:00Z")  # fmt: skip
    elif case == "lone_surrogates":
        _texts(body, kind, "\ud800 lone \udfff")
        body["action"] = "\udbff"
    elif case == "control_chars":
        _texts(body, kind, "\x00\x07\x1b[2J\u202eevil\ufeff")
    elif case == "empty_strings":
        _texts(body, kind, "")
        for media in ("movie", "show", "episode"):
            if isinstance(body.get(media), dict):
                body[media]["ids"] |= {"slug": "", "imdb": ""}
        if kind == "profile":
            body["username"] = ""
    elif case == "nulls":
        _texts(body, kind, None)
        for media in ("movie", "show", "episode"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = None
                body[media]["ids"] |= {"slug": None, "imdb": None, "tmdb": None, "tvdb": None}
        if kind == "profile":
            body |= {"vip": None, "vip_ep": None, "joined_at": None, "images": None}
    elif case == "huge_numbers":  # the largest values accepted, and beyond in optional fields
        for media in ("movie", "show"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = 2200
                body[media]["ids"] |= {"trakt": BIG, "tmdb": 2**64, "tvdb": -1}
        if isinstance(body.get("episode"), dict):
            body["episode"] |= {"season": 100_000, "number": 100_000}
            body["episode"]["ids"] |= {"trakt": BIG, "tmdb": BIG}
        if kind == "profile":
            body["ids"]["trakt"] = 10**30
    elif case == "long_strings":
        _texts(body, kind, "Ω" * 100_000)
    elif case == "wrong_types":
        _texts(body, kind, 42)
        for media in ("movie", "show"):
            if isinstance(body.get(media), dict):
                body[media]["year"] = "1999"
                body[media]["ids"]["tmdb"] = "abc"
        if kind == "profile":
            body |= {"private": "maybe", "images": [1, 2]}
    else:
        raise ValueError(f"unknown hostile case {case!r}")
    return body


def _hostile_stats(case: str, body: dict) -> dict:
    counts = [section for section in body.values() if isinstance(section, dict)]
    if case == "huge_numbers":
        for section in counts:
            for name in section:
                if isinstance(section[name], int):
                    section[name] = BIG
        body["ratings"]["distribution"] = {str(n): BIG for n in range(1, 11)} | {"99": BIG}
    elif case == "nulls":
        body["seasons"] = None  # optional: dropped to its default
        body["ratings"] = {"total": 3, "distribution": {"1": 3, "\ud800": 1, "x" * 50: 2}}
    elif case in ("wrong_types", "lone_surrogates"):
        body["ratings"]["distribution"] = {"\ud800": 1, "10": "many"}
    return body


def _hostile_tmdb(case: str, body: dict) -> dict:
    images = [image for kind in ("backdrops", "posters", "stills") for image in body.get(kind, [])]
    for n, image in enumerate(images):
        if case == "huge_numbers":
            image |= {"width": 2**64, "height": BIG, "vote_average": 1e308, "vote_count": -1}
        elif case in ("nulls", "empty_strings"):
            image |= {"file_path": None if case == "nulls" else "", "iso_639_1": None}
        elif case == "wrong_types":
            image |= {"file_path": ["x"], "vote_average": "high"}
        elif case in ("lone_surrogates", "control_chars"):
            image["file_path"] = "/\ud800.jpg" if n % 2 else "/../../etc/passwd"
    return body


HOSTILE = (
    "calendar_ends",
    "beyond_calendar",
    "zoneless",
    "not_dates",
    "odd_date_forms",
    "lone_surrogates",
    "control_chars",
    "empty_strings",
    "nulls",
    "huge_numbers",
    "long_strings",
    "wrong_types",
)


@cache
def _gzip_bomb() -> bytes:
    """About 100 KB of gzip that inflates to 100 MB (made once)."""
    return gzip.compress(b"{" + b" " * 100_000_000, compresslevel=9)


class FakeUpstream:
    def __init__(self, port: int = 0, **state):
        self.state = copy.deepcopy(DEFAULTS) | state
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.endless_bytes_sent = 0  # what the "endless" fault wrote before the client left
        self.server = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------

    def set(self, **changes) -> None:
        unknown = set(changes) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fake-upstream state: {sorted(unknown)}")
        with self._lock:
            self.state |= changes
            self._started = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self.state = copy.deepcopy(DEFAULTS)
            self._calls.clear()
            self.endless_bytes_sent = 0

    def calls(self, prefix: str = "") -> int:
        """How many calls were made whose key ("trakt:/users/x/watching") starts with prefix."""
        with self._lock:
            return sum(n for key, n in self._calls.items() if key.startswith(prefix))

    def call_log(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def env(self) -> dict[str, str]:
        """Environment for a site process pointed at this fake, with keys set."""
        return {
            "TRAKT_API_URL": f"{self.url}/trakt",
            "TMDB_API_URL": f"{self.url}/tmdb/3",
            "TMDB_IMAGE_URL": f"{self.url}/img",
            "TRAKT_API_KEY": TRAKT_KEY,
            "TRAKT_USERNAME": "sean",
            "TMDB_API_KEY": TMDB_KEY,
            "DEMO_MODE": "false",
        }

    def configure(self, settings) -> None:
        """Point this process's Django settings (and so live_server) at the fake."""
        for name, value in self.env().items():
            setattr(settings, name, value)
        settings.DEMO_MODE = False  # env() holds the string "false", for a process's environment

    def start(self) -> FakeUpstream:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- answers ---------------------------------------------------------------------------

    def current_fault(self, service: str):
        state = self.state
        if state["flip"]:
            step = int((time.monotonic() - self._started) / state["flip_seconds"])
            fault = state["flip"][step % len(state["flip"])]
        else:
            fault = state[f"{service}_fault"]
        return None if fault == "ok" else fault  # "ok" is a step of a flip, not a fault

    def watching_body(self) -> dict | None:
        state = self.state
        scenario = state["watching"]
        if scenario == "idle":
            return None
        now = datetime.now(UTC).replace(microsecond=0)
        started = now - timedelta(minutes=state["started_minutes_ago"])
        episode_like = scenario in ("episode", "untitled_episode")
        body = fixture(
            "trakt_watching_episode.json" if episode_like else "trakt_watching_movie.json"
        )
        body["started_at"] = _iso(started)
        body["expires_at"] = _iso(started + timedelta(minutes=state["runtime_minutes"]))
        body["action"] = {"checkin": "checkin", "unknown_action": "watching"}.get(
            scenario, "scrobble"
        )
        media = body["show"] if episode_like else body["movie"]
        if scenario == "no_ids":
            media["ids"]["tmdb"] = None
            media["ids"]["imdb"] = ""
        if scenario == "null_year":
            media["year"] = None
        if scenario == "untitled_episode":
            body["episode"]["title"] = None
        if scenario == "markup":
            media["title"] = (
                '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
            )
        if state["title"] is not None:
            media["title"] = state["title"]
        return body

    def history_body(self) -> list:
        item = fixture("trakt_watching_episode.json")
        del item["started_at"], item["expires_at"]
        item["watched_at"] = _iso(datetime.now(UTC) - timedelta(hours=3))
        item["id"] = 1
        return [item]

    def trakt(self, path: str) -> tuple[int, dict, bytes]:
        match = re.fullmatch(r"/users/([^/]+)(/watching|/stats|/history)?", path)
        if not match:
            return 404, {}, b""
        rest = match[2]
        if rest == "/watching":
            body = self.watching_body()
            return (204, {}, b"") if body is None else _json(self.hostile("watching", body))
        if rest == "/stats":
            return _json(self.hostile("stats", fixture("trakt_user_stats.json")))
        if rest == "/history":
            return _json([self.hostile("history", item) for item in self.history_body()])
        name = "private" if self.state["profile"] == "private" else "extended_full"
        return _json(self.hostile("profile", fixture(f"trakt_user_profile_{name}.json")))

    def tmdb(self, path: str) -> tuple[int, dict, bytes]:
        for pattern, name in (
            (r"/movie/\d+/images", "tmdb_movie_images.json"),
            (r"/tv/\d+/images", "tmdb_tv_images.json"),
            (r"/tv/\d+/season/\d+/episode/\d+/images", "tmdb_episode_images.json"),
        ):
            if re.fullmatch(pattern, path):
                return _json(self.hostile("tmdb", fixture(name)))
        return (
            404,
            {"Content-Type": "application/json"},
            json.dumps(fixture("tmdb_error_34.json")).encode(),
        )

    def hostile(self, kind: str, body):
        case = self.state["hostile"]
        return body if case is None else _hostile_body(case, kind, body)

    def answer(self, service: str, path: str) -> tuple[int, dict, bytes]:
        return self.trakt(path) if service == "trakt" else self.tmdb(path)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up (our deadline, a size cap) is expected, not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _json(body) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler_for(fake: FakeUpstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/_control":
                fake.set(**data)
            elif self.path == "/_reset":
                fake.reset()
            else:
                return self._send(404, {}, b"")
            self._send(200, {"Content-Type": "application/json"}, b"{}")

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/_calls":
                return self._send(*_json(fake.call_log()))
            if url.path.startswith("/img/"):
                image = (FIXTURES / "backdrop.png").read_bytes()
                return self._send(200, {"Content-Type": "image/png"}, image)
            if url.path.startswith("/trakt/"):
                service, path = "trakt", url.path[len("/trakt") :]
            elif url.path.startswith("/tmdb/3/"):
                service, path = "tmdb", url.path[len("/tmdb/3") :]
            else:
                return self._send(404, {}, b"")
            with fake._lock:
                fake._calls[f"{service}:{path}"] += 1
            state = fake.state
            delay = state["delay"] + (state["watching_delay"] if path.endswith("/watching") else 0)
            if delay:
                time.sleep(delay)
            refusal = self._check_auth(service, parse_qs(url.query))
            if refusal:
                return self._send(*refusal)
            fault = fake.current_fault(service)
            if fault:
                return self._fault(fault, service, path)
            self._send(*fake.answer(service, path))

        def _check_auth(self, service: str, query: dict):
            # Like the real hosts: no User-Agent gets the CDN's HTML 403; a bad key its error.
            if not self.headers.get("User-Agent"):
                return FAULTS["html403"]
            if service == "trakt":
                if self.headers.get("trakt-api-key") != TRAKT_KEY:
                    return 403, {}, b""
                if self.headers.get("trakt-api-version") != "2":
                    return 400, {}, b""
            else:
                bearer = self.headers.get("Authorization", "") == f"Bearer {TMDB_KEY}"
                if not bearer and query.get("api_key") != [TMDB_KEY]:
                    return 401, {}, json.dumps(fixture("tmdb_error_7.json")).encode()
            return None

        def _fault(self, fault: str, service: str, path: str):
            state = fake.state
            if fault == "timeout":
                time.sleep(state["timeout_seconds"])
                return self._send(*_json({}))
            if fault == "drip":
                return self._drip()
            if fault == "endless":
                return self._endless()
            if fault in ("slow_status", "slow_headers", "stall_headers"):
                return self._slow(fault, *fake.answer(service, path))
            if fault == "gzip_bomb":
                headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
                return self._send(200, headers, _gzip_bomb())
            if fault == "malformed_header":
                # A header line without a colon: urllib3 warns "Failed to parse headers
                # (url=...)" with the whole URL, TMDB's api_key included.
                return self._send(*fake.answer(service, path), raw_lines=[b"Not a header line"])
            if fault == "huge_header":  # longer than http.client reads (64 KB)
                status, headers, body = fake.answer(service, path)
                return self._send(status, headers | {"X-Pad": "x" * 70_000}, body)
            if fault == "many_headers":  # more than http.client takes (100)
                status, headers, body = fake.answer(service, path)
                return self._send(status, headers | {f"X-H{n}": "1" for n in range(150)}, body)
            if fault == "absurd_headers":
                status, headers, body = fake.answer(service, path)
                step = int(time.monotonic() * 10) % len(ABSURD_RATE_LIMITS)
                headers |= {
                    "X-Ratelimit": ABSURD_RATE_LIMITS[step],
                    "Retry-After": "9" * 500,
                    "X-Pagination-Page": "-1",
                    "X-Pagination-Limit": "1e999",
                    "X-Pagination-Page-Count": "9" * 500,
                    "X-Pagination-Item-Count": "\xb3",  # a superscript 3: isdigit() says yes
                }
                return self._send(status, headers, body)
            if fault in ("429_absurd", "429_date"):
                retry = "9" * 500 if fault == "429_absurd" else "Fri, 31 Dec 9999 23:59:59 GMT"
                headers = {"Retry-After": retry, "X-Ratelimit": ABSURD_RATE_LIMITS[0]}
                return self._send(429, headers, b"")
            if fault == "429":
                headers = {
                    "Retry-After": str(state["retry_after"]),
                    "X-Ratelimit": json.dumps(
                        {
                            "name": "UNAUTHED_API_GET_LIMIT",
                            "period": 300,
                            "limit": 1000,
                            "remaining": 0,
                            "until": _iso(datetime.now(UTC)),
                        }
                    ),
                }
                return self._send(429, headers, b"")
            if fault in FAULTS:
                return self._send(*FAULTS[fault])
            status = int(fault)  # a bare status: "423", "502", "520", ...
            headers = {"X-Account-Locked": "true"} if status == 423 else {}
            return self._send(status, headers, b"")

        def _slow(self, fault: str, status: int, headers: dict, body: bytes):
            """A valid answer whose status line or headers come too slowly (or stop)."""
            head = f"HTTP/1.1 {status} OK\r\n".encode()
            lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
            lines += b"X-Pad: " + b"p" * 64 + b"\r\n"
            rest = b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            gap = fake.state["drip_seconds"]
            self.close_connection = True
            try:
                if fault == "slow_status":
                    self._dribble(head, gap)
                    self.wfile.write(lines + rest)
                elif fault == "slow_headers":
                    self.wfile.write(head)
                    self._dribble(lines, gap)
                    self.wfile.write(rest)
                else:  # stall_headers
                    self.wfile.write(head + lines[: len(lines) // 2])
                    self.wfile.flush()
                    time.sleep(fake.state["timeout_seconds"])
                    self.wfile.write(lines[len(lines) // 2 :] + rest)
                self.wfile.flush()
            except OSError:
                pass  # the client gave up, as it should

        def _dribble(self, data: bytes, gap: float):
            for byte in data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(gap)

        def _drip(self):
            # A valid answer, one byte every 0.5 s: each read is quick, the whole is not.
            body = json.dumps(fake.watching_body() or {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

        def _endless(self):
            # A JSON string that never ends, as fast as the client reads, with no length:
            # only a cap on what is read stops the client (after 64 MB, the fake gives up).
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                self.wfile.write(b'{"pad": "')
                for _ in range(1024):
                    self.wfile.write(chunk)
                    with fake._lock:
                        fake.endless_bytes_sent += len(chunk)
            except OSError:
                pass
            self.close_connection = True

        def _send(self, status: int, headers: dict, body: bytes, raw_lines=()):
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                for line in raw_lines:
                    self._headers_buffer.append(line + b"\r\n")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except OSError:
                pass  # the client gave up (a timeout test); nothing to tell it

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument("--watching", default="movie")
    args = parser.parse_args(argv)
    fake = FakeUpstream(args.port, delay=args.delay, watching=args.watching)
    print(f"listening on {fake.port}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()


if __name__ == "__main__":
    sys.exit(main())
