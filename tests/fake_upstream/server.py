"""The fake's server: its state (DEFAULTS), the calls it counts, and the handler that answers
as Trakt and TMDB would."""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fake_upstream.auth import FakeTokens
from tests.fake_upstream.common import (
    ABSURD_RATE_LIMITS,
    DEFAULTS,
    FAULTS,
    FIXTURES,
    TMDB_KEY,
    TRAKT_KEY,
    TRAKT_SECRET,
    fixture,
    iso,
    json_answer,
)
from tests.fake_upstream.history import history_answer
from tests.fake_upstream.hostile import gzip_bomb, hostile_body
from tests.fake_upstream.library import library_answer
from tests.fake_upstream.social import following_answer, social_answer


class FakeUpstream:
    def __init__(self, port: int = 0, **state):
        self.state = copy.deepcopy(DEFAULTS) | state
        self._calls: Counter[str] = Counter()
        self.images: Counter[str] = Counter()  # the image paths asked for (not in calls())
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.endless_bytes_sent = 0  # what the "endless" fault wrote before the client left
        self.tokens = FakeTokens(self)
        self._released = threading.Condition(self._lock)
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
            self._released.notify_all()

    def reset(self) -> None:
        with self._lock:
            self.state = copy.deepcopy(DEFAULTS)
            self._calls.clear()
            self.images.clear()
            self.endless_bytes_sent = 0
            self.tokens = FakeTokens(self)
            self._released.notify_all()

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
            "TRAKT_AUTH_URL": f"{self.url}/auth",
            "TRAKT_API_KEY": TRAKT_KEY,
            "TRAKT_CLIENT_SECRET": TRAKT_SECRET,
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
        if state["started_at"] is not None:
            started = datetime.fromisoformat(state["started_at"])
        episode_like = scenario in ("episode", "untitled_episode")
        body = fixture(
            "trakt_watching_episode.json" if episode_like else "trakt_watching_movie.json"
        )
        body["started_at"] = iso(started)
        body["expires_at"] = iso(started + timedelta(minutes=state["runtime_minutes"]))
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
        item["watched_at"] = iso(datetime.now(UTC) - timedelta(hours=3))
        item["id"] = 1
        return [item]

    def trakt(self, path: str, owner: bool = False) -> tuple[int, dict, bytes]:
        """`owner`: the call carried a valid token (the owner's `me`, or a private profile)."""
        match = re.fullmatch(r"/users/([^/]+)(/watching|/stats|/history)?", path)
        if not match:
            return 404, {}, b""
        if not owner and match[1] == "me":
            return 401, {}, b""
        if not owner and self.state["private_user"]:
            return 401, {"X-Private-User": "true"}, b""
        rest = match[2]
        if rest == "/watching":
            body = self.watching_body()
            return (204, {}, b"") if body is None else json_answer(self.hostile("watching", body))
        if rest == "/stats":
            return json_answer(self.hostile("stats", fixture("trakt_user_stats.json")))
        if rest == "/history":
            return json_answer([self.hostile("history", item) for item in self.history_body()])
        name = "private" if self.state["profile"] == "private" else "extended_full"
        body = fixture(f"trakt_user_profile_{name}.json")
        if self.state["avatar"] is not None and "images" in body:
            body["images"]["avatar"]["full"] = self.state["avatar"].replace("{url}", self.url)
        return json_answer(self.hostile("profile", body))

    def tmdb(self, path: str) -> tuple[int, dict, bytes]:
        for pattern, name in (
            (r"/movie/\d+/images", "tmdb_movie_images.json"),
            (r"/tv/\d+/images", "tmdb_tv_images.json"),
            (r"/tv/\d+/season/\d+/episode/\d+/images", "tmdb_episode_images.json"),
            (r"/movie/\d+", "tmdb_movie_details.json"),
            (r"/tv/\d+", "tmdb_tv_details.json"),
        ):
            if re.fullmatch(pattern, path):
                return json_answer(self.hostile("tmdb", fixture(name)))
        return (
            404,
            {"Content-Type": "application/json"},
            json.dumps(fixture("tmdb_error_34.json")).encode(),
        )

    def hostile(self, kind: str, body):
        case = self.state["hostile"]
        return body if case is None else hostile_body(case, kind, body)

    def answer(self, service: str, path: str, owner: bool = False) -> tuple[int, dict, bytes]:
        """The answer to a call that is not a fault (`owner`: it carried a valid token)."""
        if service == "tmdb":
            return self.tmdb(path)
        status, headers, body = self.trakt(path, owner)
        if self.state["rate_limit"]:
            info = {"name": "AUTHED_API_GET_LIMIT", "period": 300, "until": iso(datetime.now(UTC))}
            headers = headers | {"X-Ratelimit": json.dumps(info | self.state["rate_limit"])}
        return status, headers, body


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up (our deadline, a size cap) is expected, not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeUpstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the body
        # for the client's delayed ACK, some 40 ms a call.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            if self.path.startswith("/auth/"):
                path = self.path[len("/auth") :]
                with fake._lock:
                    fake._calls[f"auth:{path}"] += 1
                return self._send(*fake.tokens.answer(path, data))
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
                return self._send(*json_answer(fake.call_log()))
            if url.path.startswith("/img/"):
                with fake._lock:
                    fake.images[url.path] += 1
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
            if path.endswith("/watching"):
                with fake._lock:
                    fake._released.wait_for(lambda: not fake.state["watching_hold"], timeout=30)
            refusal = self._check_auth(service, parse_qs(url.query))
            if refusal:
                return self._send(*refusal)
            fault = fake.current_fault(service)
            if fault:
                return self._fault(fault, service, path)
            if service == "trakt":
                query = parse_qs(url.query)
                if (social := social_answer(fake, path, query)) is not None:
                    return self._send(*social)
                if re.fullmatch(r"/users/[^/]+/following", path):
                    return self._send(*following_answer(fake, query))
                answer = library_answer(fake, path, query, self.headers) or history_answer(
                    fake, path, query, self.headers
                )
                if answer == "429":
                    return self._fault("429", service, path)
                if answer is not None:
                    return self._send(*answer)
            owner = self.headers.get("Authorization", "").startswith("Bearer ")
            self._send(*fake.answer(service, path, owner))

        def _check_auth(self, service: str, query: dict):
            # Like the real hosts: no User-Agent gets the CDN's HTML 403; a bad key its error.
            if not self.headers.get("User-Agent"):
                return FAULTS["html403"]
            if service == "trakt":
                if self.headers.get("trakt-api-key") != TRAKT_KEY:
                    return 403, {}, b""
                if self.headers.get("trakt-api-version") != "2":
                    return 400, {}, b""
                authorization = self.headers.get("Authorization", "")
                if authorization.startswith("Bearer "):
                    if not fake.tokens.accepts(authorization[len("Bearer ") :]):
                        return 401, {"Content-Type": "application/json"}, b""
            else:
                bearer = self.headers.get("Authorization", "") == f"Bearer {TMDB_KEY}"
                if not bearer and query.get("api_key") != [TMDB_KEY]:
                    return 401, {}, json.dumps(fixture("tmdb_error_7.json")).encode()
            return None

        def _fault(self, fault: str, service: str, path: str):
            state = fake.state
            if fault == "timeout":
                time.sleep(state["timeout_seconds"])
                return self._send(*json_answer({}))
            if fault == "drip":
                return self._drip()
            if fault == "endless":
                return self._endless()
            if fault in ("slow_status", "slow_headers", "stall_headers"):
                return self._slow(fault, *fake.answer(service, path))
            if fault == "gzip_bomb":
                headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
                return self._send(200, headers, gzip_bomb())
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
                            "until": iso(datetime.now(UTC)),
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
