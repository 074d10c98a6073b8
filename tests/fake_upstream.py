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
applied to every Trakt and TMDB body. The history mirror's
state (`history`, `ratings`, ...) is described in its own section below (HISTORY_DEFAULTS).

Trakt's auth host is at {url}/auth (`TRAKT_AUTH_URL`), with the device flow, token renewal and
revocation; see the section "Trakt's auth host" below and `FakeTokens`. Tokens the fake issued
are checked on every API call (expired, revoked or retired ones get 401); a token it never
issued (a test's TRAKT_ACCESS_TOKEN) is taken as valid.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import re
import secrets
import sys
import threading
import time
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAKT_KEY = "fake-trakt-client-id-0123456789"
TMDB_KEY = "fake-tmdb-api-key-0123456789"
TRAKT_SECRET = "fake-trakt-client-secret-0123456789"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


DEFAULTS = {
    "watching": "movie",
    "started_minutes_ago": 37,
    "started_at": None,  # an absolute start (ISO 8601), for tests that move the clock
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
    # Trakt's auth host (FakeTokens):
    "expires_in": 7 * 24 * 3600,  # of every token issued
    "issued_ago": 0,  # the device flow's tokens say they were created this many seconds ago
    "clock_behind": 0,  # every token's created_at is this many seconds behind the real time
    "device_interval": 5,
    "device_expires_in": 600,
    "device_script": [],  # what the device-token polls answer, in turn (400, 429, 410, ...); then 200
    "refresh_fault": None,  # invalid_grant (401), invalid_grant_400, invalid_client, 500, timeout
    "auth_delay": 0.0,  # seconds each token renewal takes to answer, after Trakt swapped the pair
    "private_user": False,  # /users/<slug>/... without the owner's token: 401 X-Private-User
    "rate_limit": None,  # {"remaining": 480, "limit": 500}: an X-Ratelimit on every Trakt answer
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
        self.tokens = FakeTokens(self)
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
            self.tokens = FakeTokens(self)

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

    def answer(self, service: str, path: str, owner: bool = False) -> tuple[int, dict, bytes]:
        """The answer to a call that is not a fault (`owner`: it carried a valid token)."""
        if service == "tmdb":
            return self.tmdb(path)
        status, headers, body = self.trakt(path, owner)
        if self.state["rate_limit"]:
            info = {"name": "AUTHED_API_GET_LIMIT", "period": 300, "until": _iso(datetime.now(UTC))}
            headers = headers | {"X-Ratelimit": json.dumps(info | self.state["rate_limit"])}
        return status, headers, body


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up (our deadline, a size cap) is expected, not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


# --- Trakt's auth host ---------------------------------------------------------------------------


class FakeTokens:
    """Trakt's OAuth endpoints and the tokens they issue, as strict as the real ones.

    Refresh tokens are single use: each renewal retires the one presented (a second use gets
    401 invalid_grant), and every presentation is counted (`refresh_uses`), so a test can
    prove none was sent twice. Access tokens expire after the `expires_in` they were issued
    with, on this process's clock (time-machine moves it). `issue()` hands a test a pair as
    the device flow would.
    """

    def __init__(self, fake: FakeUpstream):
        self.fake = fake
        self.access: dict[str, float] = {}  # every access token issued -> when it expires
        self.revoked: set[str] = set()
        self.refresh_live: dict[str, str] = {}  # live refresh token -> its access token
        self.refresh_uses: Counter[str] = Counter()  # every refresh token presented, counted
        self.refused_calls = 0  # API calls with an expired, revoked or unknown-to-us token
        self.device_codes: dict[str, str] = {}  # device code -> "waiting" or "used"
        self.polls = 0
        self._serial = 0

    # --- for tests

    def issue(self, issued_ago: float = 0) -> dict:
        """A new pair, as Trakt's token answer (`samples/trakt_oauth_token.json`)."""
        with self.fake._lock:
            self._serial += 1
            serial = self._serial
        access = f"fake-access-{serial:04d}-{secrets.token_hex(12)}"
        refresh = f"fake-refresh-{serial:04d}-{secrets.token_hex(12)}"
        created = int(time.time() - issued_ago - self.fake.state["clock_behind"])
        expires_in = int(self.fake.state["expires_in"])
        with self.fake._lock:
            # Trakt's own clock decides when it stops taking the token, whatever created_at says.
            self.access[access] = time.time() - issued_ago + expires_in
            self.refresh_live[refresh] = access
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": refresh,
            "scope": "public",
            "created_at": created,
        }

    def expire_all(self) -> None:
        """Every access token issued so far has expired (as after a week nobody visited)."""
        with self.fake._lock:
            for token in self.access:
                self.access[token] = 0

    def reused_refresh_tokens(self) -> list[str]:
        with self.fake._lock:
            return [token for token, uses in self.refresh_uses.items() if uses > 1]

    def accepts(self, access: str) -> bool:
        with self.fake._lock:
            if access not in self.access:
                return True  # not ours: a test's own TRAKT_ACCESS_TOKEN
            good = access not in self.revoked and time.time() < self.access[access]
            if not good:
                self.refused_calls += 1
            return good

    def secrets_issued(self) -> set[str]:
        with self.fake._lock:
            return set(self.access) | set(self.refresh_uses) | set(self.refresh_live)

    # --- the endpoints

    def answer(self, path: str, body: dict) -> tuple[int, dict, bytes]:
        if body.get("client_id") != TRAKT_KEY:
            return _oauth_error(401, "invalid_client")
        if path == "/oauth/device/code":
            return self.device_code()
        if body.get("client_secret") != TRAKT_SECRET:
            return _oauth_error(401, "invalid_client")
        if path == "/oauth/device/token":
            return self.device_token(str(body.get("code")))
        if path == "/oauth/token":
            return self.renew(body)
        if path == "/oauth/revoke":
            return self.revoke(str(body.get("token")))
        return 404, {}, b""

    def device_code(self) -> tuple[int, dict, bytes]:
        code = secrets.token_hex(32)
        with self.fake._lock:
            self.device_codes[code] = "waiting"
        state = self.fake.state
        return _json(
            {
                "device_code": code,
                "user_code": secrets.token_hex(4).upper(),
                "verification_url": f"{self.fake.url}/auth/activate",
                "expires_in": state["device_expires_in"],
                "interval": state["device_interval"],
            }
        )

    def device_token(self, code: str) -> tuple[int, dict, bytes]:
        with self.fake._lock:
            self.polls += 1
            known = self.device_codes.get(code)
            script = self.fake.state["device_script"]
            status = int(script.pop(0)) if script else 200
        if known is None:
            return 404, {}, b""
        if known == "used":
            return 409, {}, b""
        if status != 200:
            # Trakt's 400 ("pending") has no usable body; nor have the others.
            return status, {"Content-Type": "application/json"}, b"" if status != 400 else b"{"
        with self.fake._lock:
            self.device_codes[code] = "used"
        return _json(self.issue(self.fake.state["issued_ago"]))

    def renew(self, body: dict) -> tuple[int, dict, bytes]:
        if body.get("grant_type") != "refresh_token" or not body.get("redirect_uri"):
            return _oauth_error(400, "invalid_request")
        refresh = str(body.get("refresh_token"))
        fault = self.fake.state["refresh_fault"]
        with self.fake._lock:
            self.refresh_uses[refresh] += 1
            live = self.refresh_live.pop(refresh, None) if not fault else None
        if fault == "500":
            return 500, {"Content-Type": "text/html"}, b"<html>Internal Server Error</html>"
        if fault == "timeout":
            time.sleep(self.fake.state["timeout_seconds"])
            return _oauth_error(503, "temporarily_unavailable")
        if fault == "invalid_client":
            return _oauth_error(401, "invalid_client")
        if fault == "invalid_grant_400":
            return _oauth_error(400, "invalid_grant")
        if fault == "invalid_grant" or live is None:
            return (
                401,
                {"Content-Type": "application/json"},
                _fixture_bytes("trakt_oauth_token_error_401.json"),
            )
        pair = self.issue()
        if self.fake.state["auth_delay"]:
            time.sleep(self.fake.state["auth_delay"])  # swapped already: a slow answer
        return _json(pair)

    def revoke(self, token: str) -> tuple[int, dict, bytes]:
        with self.fake._lock:
            self.revoked.add(token)
            for refresh, access in list(self.refresh_live.items()):
                if access == token:
                    del self.refresh_live[refresh]
        return _json({})


def _oauth_error(status: int, error: str) -> tuple[int, dict, bytes]:
    body = {"error": error, "error_description": f"fake: {error}"}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _json(body) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


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
            if service == "trakt":
                answer = history_answer(fake, path, parse_qs(url.query), self.headers)
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


# --- The history and ratings (the mirror's sync) ---------------------------------------------
#
# /users/{id}/history and /users/{id}/ratings/{movies,shows,episodes} are paginated like
# Trakt's (page, limit capped at 250, X-Pagination-* headers) and filtered by start_at/end_at;
# /sync/last_activities answers with an OAuth token only. State:
#   history: None (the one classic item, watched 3 hours ago), a number N (a generated
#     history of N plays, ids 1..N, one every `history_step_minutes` from `history_origin`;
#     movies and episodes of a catalogue with unicode titles and a show without a TMDB id),
#     or a list of raw history items (any order; served newest first)
#   history_removed: history ids deleted on Trakt (left out of every answer)
#   history_429_page: the first request for this page answers 429 (Retry-After:
#     `retry_after`), once
#   ratings: None (none), a number N (ratings of the first N generated movies and of every
#     fifth show), or a list of raw rating items
#   history_max_page_size: answer pages of at most this many items whatever the limit (a
#     Trakt that pages differently)

HISTORY_DEFAULTS = {
    "history": None,
    "history_removed": [],
    "history_429_page": None,
    "history_origin": "2023-01-01T18:00:00.000Z",
    "history_step_minutes": 31,
    "history_max_page_size": None,
    "ratings": None,
}
DEFAULTS.update(HISTORY_DEFAULTS)
HISTORY_KEYS = ("history", "history_removed", "history_origin", "history_step_minutes")
PAGE_CAP = 250
GENRES = ["drama", "comedy", "thriller", "science-fiction", "documentary", "animation",
          "crime", "romance", "horror", "fantasy", "mystery", "adventure"]  # fmt: skip
MOVIE_COUNT = 400
SHOW_COUNT = 60
EPISODES_PER_SEASON = 10


def history_answer(fake: FakeUpstream, path: str, query: dict, headers) -> tuple | str | None:
    """The answer to a history, ratings or last-activities call; None for any other path."""
    state = fake.state
    if path == "/sync/last_activities":
        if not headers.get("Authorization", "").startswith("Bearer "):
            return 401, {"Content-Type": "application/json"}, b""
        return _json(last_activities_body(state))
    match = re.fullmatch(r"/users/[^/]+/(history|ratings/(movies|shows|episodes))", path)
    if not match:
        return None
    page = _query_int(query, "page", 1)
    limit = min(
        _query_int(query, "limit", 10), PAGE_CAP, state["history_max_page_size"] or PAGE_CAP
    )
    if match[1] == "history":
        if state["history_429_page"] == page:
            state["history_429_page"] = None  # once
            return "429"
        start = _query_time(query, "start_at")
        end = _query_time(query, "end_at")
        total, items = history_slice(state, start, end, (page - 1) * limit, limit)
    else:
        total, items = ratings_slice(state, match[2], (page - 1) * limit, limit)
    pages = -(-total // limit) if total else 0
    pagination = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(total),
    }
    status, content_headers, body = _json(items)
    return status, content_headers | pagination, body


def _query_int(query: dict, name: str, default: int) -> int:
    try:
        return max(1, int(query[name][-1]))
    except (KeyError, ValueError, IndexError):
        return default


def _query_time(query: dict, name: str) -> datetime | None:
    if name not in query:
        return None
    return datetime.fromisoformat(query[name][-1])


def history_slice(state: dict, start, end, offset: int, limit: int) -> tuple[int, list]:
    """(how many plays match, the plays from `offset`), newest first."""
    history = state["history"]
    removed = set(state["history_removed"])
    if history is None:
        items = [_classic_item()]
    elif isinstance(history, list):
        items = sorted(history, key=lambda item: item["watched_at"], reverse=True)
    else:
        return _generated_slice(state, history, removed, start, end, offset, limit)
    items = [
        item
        for item in items
        if item["id"] not in removed and _within(item["watched_at"], start, end)
    ]
    return len(items), items[offset : offset + limit]


def _within(watched_at, start, end) -> bool:
    try:
        moment = datetime.fromisoformat(watched_at)
    except (TypeError, ValueError):
        return True  # a deliberately broken item is always served
    return (start is None or moment >= start) and (end is None or moment <= end)


def _classic_item() -> dict:
    item = fixture("trakt_watching_episode.json")
    del item["started_at"], item["expires_at"]
    item["watched_at"] = _iso(datetime.now(UTC) - timedelta(hours=3))
    item["id"] = 1
    return item


def _generated_slice(state, size, removed, start, end, offset, limit) -> tuple[int, list]:
    # Play i (0 the oldest) has id i + 1 and is watched at origin + i steps: indices are
    # computed, never listed, so a history of 50,000 costs nothing until a page is asked.
    origin = datetime.fromisoformat(state["history_origin"])
    step = timedelta(minutes=state["history_step_minutes"])
    low, high = 0, size - 1
    if start is not None:
        low = max(low, -(-(start - origin) // step))
    if end is not None:
        high = min(high, (end - origin) // step)
    if high < low:
        return 0, []
    indices = range(high, low - 1, -1)  # newest first
    if removed:
        indices = [i for i in indices if i + 1 not in removed]
    chosen = indices[offset : offset + limit]
    return len(indices), [generated_play(i, origin + i * step) for i in chosen]


def _title(kind: str, number: int) -> str:
    # Some titles are unicode through and through.
    if number % 17 == 3:
        return f"Ünïcødé «{number}» 映画 🎬" if kind == "movie" else f"Série n°{number} — 東京"
    return f"Generated {'Film' if kind == 'movie' else 'Series'} {number}"


def generated_movie(number: int) -> dict:
    return {
        "title": _title("movie", number),
        "year": 1960 + number % 65,
        "ids": {
            "trakt": 500_000 + number,
            "slug": f"generated-film-{number}",
            "imdb": f"tt{9_000_000 + number}",
            "tmdb": 700_000 + number,
        },
        "runtime": 80 + number % 70,
        "genres": [GENRES[number % len(GENRES)], GENRES[(number * 7 + 3) % len(GENRES)]],
        "rating": round(5 + (number * 37 % 50) / 10, 3),
        "votes": 10 + number * 13 % 5000,
        "overview": "A generated film for the mirror's tests. " * 4,
    }


def generated_show(number: int) -> dict:
    return {
        "title": _title("show", number),
        "year": 1990 + number % 35,
        "ids": {
            "trakt": 600_000 + number,
            "slug": f"generated-series-{number}",
            "imdb": f"tt{8_000_000 + number}",
            # Show 0 has no TMDB id (its episodes must still be mirrored, without artwork).
            "tmdb": None if number == 0 else 800_000 + number,
            "tvdb": 300_000 + number,
        },
        "runtime": 25 + number % 4 * 10,
        "genres": [GENRES[(number + 5) % len(GENRES)]],
        "rating": round(6 + (number * 29 % 40) / 10, 3),
        "votes": 100 + number * 7 % 9000,
        "overview": "A generated series for the mirror's tests. " * 4,
    }


def generated_play(index: int, watched_at: datetime) -> dict:
    item = {"id": index + 1, "watched_at": _iso(watched_at), "action": "scrobble"}
    if index % 5 == 0:
        return item | {"type": "movie", "movie": generated_movie(index * 7919 % MOVIE_COUNT)}
    # Runs of seven plays of one show: seven episodes in a row.
    show = index // 7 % SHOW_COUNT
    episode = index // (7 * SHOW_COUNT) * 7 + index % 7
    season, number = 1 + episode // EPISODES_PER_SEASON, 1 + episode % EPISODES_PER_SEASON
    return item | {
        "type": "episode",
        "show": generated_show(show),
        "episode": {
            "season": season,
            "number": number,
            "title": f"Episode {number}",
            "ids": {"trakt": 2_000_000 + show * 10_000 + episode, "tvdb": None, "imdb": None,
                    "tmdb": None},
            "runtime": None if number == 1 else 20 + show % 4 * 10,
            "rating": 7.5,
            "votes": 12,
        },
    }  # fmt: skip


def ratings_slice(state: dict, kind: str, offset: int, limit: int) -> tuple[int, list]:
    ratings = state["ratings"]
    if ratings is None:
        items = []
    elif isinstance(ratings, list):
        items = [item for item in ratings if item["type"] + "s" == kind]
    else:
        items = _generated_ratings(ratings, kind)
    return len(items), items[offset : offset + limit]


def _generated_ratings(count: int, kind: str) -> list:
    rated_at = "2024-06-01T12:00:00.000Z"
    if kind == "movies":
        return [
            {"rated_at": rated_at, "rating": 1 + n * 37 % 10, "type": "movie",
             "movie": generated_movie(n)}
            for n in range(min(count, MOVIE_COUNT))
        ]  # fmt: skip
    if kind == "shows":
        return [
            {"rated_at": rated_at, "rating": 1 + n * 13 % 10, "type": "show",
             "show": generated_show(n)}
            for n in range(0, SHOW_COUNT, 5)
        ]  # fmt: skip
    return []


def last_activities_body(state: dict) -> dict:
    """Times that move whenever the history or the ratings state changes."""

    def mark(keys) -> str:
        digest = zlib.crc32(json.dumps([state[k] for k in keys], default=str).encode())
        return _iso(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=digest % 10**8))

    watched, rated = mark(HISTORY_KEYS), mark(("ratings",))
    return {
        "all": max(watched, rated),
        "movies": {"watched_at": watched, "rated_at": rated},
        "episodes": {"watched_at": watched, "rated_at": rated},
        "shows": {"rated_at": rated},
    }


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
